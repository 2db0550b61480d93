"""Signing in through a real OpenID Connect provider (npm `oidc-provider`, started per test):
accounts from claims, pre-provisioned accounts, disabled accounts, the audit, signing out
there too; and the refusals: a replayed callback or code, another browser's callback, a
wrong nonce, an expired token (here through the whole flow), a forged, unsigned or tampered
token and one for another audience (the ID token checks, on tokens from the same provider)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from conftest import REDIS_URL, read_stream
from oidc_provider import (
    OTHER_SECRET,
    LocalProvider,
    provider_browser,
    query_of,
    running_provider,
    sign_in_at_provider,
)
from triage_service.domain.codes import Role
from triage_service.domain.providers import Provider
from triage_service.service.accounts import set_disabled
from triage_service.service.identity import provision_account
from triage_service.service.oidc import OidcClient, OidcError, Pkce
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.provider_http import AiohttpProviders
from triage_service.web.state import STORE


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """The OpenID provider, with the service's providers and areas files for it: one for the
    module's tests (each signs in with a browser session of its own, against a service with
    a key prefix of its own), as starting it takes half a second."""
    with running_provider(tmp_path_factory.mktemp("idp")) as provider:
        yield provider


def identity_settings(idp: LocalProvider, key_prefix: str, **more: Any) -> Settings:
    """Settings of a service signing staff in through `idp` (two boards)."""
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        sweep_interval_s=0.1,
        mfa_required_roles="",
        oidc_file=str(idp.oidc_file),
        areas_file=str(idp.areas_file),
        **more,
    )


async def serve(
    settings: Settings, port: int, clock: Callable[[], int] | None = None
) -> TestServer:
    """The service on the port its provider knows it by."""
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    server = TestServer(app, port=port)
    await server.start_server()
    return server


@pytest.fixture
async def service(
    idp: LocalProvider, key_prefix: str, redis_client: aioredis.Redis
) -> AsyncIterator[TestServer]:
    """The service, on the port the provider's clients name in their redirect URIs."""
    server = await serve(identity_settings(idp, key_prefix), idp.service_port)
    yield server
    await server.close()


@pytest.fixture
async def browser(service: TestServer) -> AsyncIterator[TestClient[Any, Any]]:
    """An HTTP client on the service keeping its cookies, as a browser would."""
    client = TestClient(service)
    await client.start_server()
    yield client
    await client.close()


async def to_provider(browser: TestClient[Any, Any], provider: str) -> str:
    """Start signing in through `provider`: the authorization URL the service sends to."""
    started = await browser.get(f"/auth/oidc/{provider}/login", allow_redirects=False)
    assert started.status == 302, await started.text()
    return started.headers["Location"]


async def back_from_provider(
    browser: TestClient[Any, Any], provider: str, login: str, authorize: str | None = None
) -> str:
    """Sign in at the provider as `login`; the callback URL (path and query) it sends back."""
    authorize = authorize or await to_provider(browser, provider)
    callback = str(browser.make_url(f"/auth/oidc/{provider}/callback"))
    async with provider_browser() as http:
        back = await sign_in_at_provider(http, authorize, login=login, until=callback)
    parts = urlsplit(back)
    return f"{parts.path}?{parts.query}"


async def sign_in(
    browser: TestClient[Any, Any], provider: str, login: str
) -> aiohttp.ClientResponse:
    """The whole flow as `login`; the callback's answer (not followed)."""
    callback = await back_from_provider(browser, provider, login)
    return await browser.get(callback, allow_redirects=False)


async def me(browser: TestClient[Any, Any]) -> dict[str, Any]:
    """Who the browser is signed in as."""
    answer = await browser.get("/api/v1/me")
    assert answer.status == 200, await answer.text()
    found: dict[str, Any] = await answer.json()
    return found


async def audit_entries(server: TestServer) -> list[dict[str, str]]:
    """The access log's entries, oldest first."""
    store = server.app[STORE]
    return await read_stream(store.client, store.keys.audit)


async def test_first_sign_in_creates_the_account_from_the_claims(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A clinician signing in through the board's provider for the first time gets an
    account with the role and boards its claims map to, lands on the console with a session
    cookie, and the audit names the provider."""
    answer = await sign_in(browser, "board", "clara")
    assert answer.status == 303
    assert answer.headers["Location"] == "/console"
    assert "SameSite=Strict" in answer.headers.getall("Set-Cookie")[0]
    found = await me(browser)
    assert found["user"]["role"] == "clinician"
    assert found["user"]["display_name"] == "Clara Clinician"
    store = service.app[STORE]
    account = await store.accounts.load(found["user"]["id"])
    assert account["boards"] == "lothian"
    assert "password_hash" not in account
    logins = [e for e in await audit_entries(service) if e["action"] == "login"]
    assert logins[-1]["provider"] == "board"
    assert logins[-1]["user_id"] == found["user"]["id"]


async def test_a_board_limited_supervisor_sees_only_their_board(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A supervisor whose claims name one board is limited to it: statistics of another
    board are refused (403), their own answered."""
    answer = await sign_in(browser, "board", "sam")
    assert answer.headers["Location"] == "/supervisor"
    assert (await me(browser))["user"]["role"] == "supervisor"
    assert (await browser.get("/api/v1/stats?board=glasgow")).status == 403
    assert (await browser.get("/api/v1/stats?board=lothian")).status == 200


async def test_a_second_sign_in_reuses_the_account(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """Signing in again through the provider finds the same account (linked by issuer and
    subject), whatever the username claim."""
    await sign_in(browser, "board", "clara")
    first = (await me(browser))["user"]["id"]
    other = TestClient(service)
    await other.start_server()
    try:
        await sign_in(other, "board", "clara")
        assert (await me(other))["user"]["id"] == first
    finally:
        await other.close()
    assert await service.app[STORE].accounts.count() == 1


@pytest.mark.parametrize(
    ("login", "code"), [("nadia", "no_role"), ("bea", "no_board")], ids=["no role", "no board"]
)
async def test_claims_that_place_nobody_are_refused(
    service: TestServer, browser: TestClient[Any, Any], login: str, code: str
) -> None:
    """Someone whose role claim maps to no role here, or whose boards claim names no board
    of this service, is refused (403) and no account is made: a missing board never means
    every board."""
    answer = await sign_in(browser, "board", login)
    assert answer.status == 403
    assert f'data-code="{code}"' in await answer.text()
    assert await service.app[STORE].accounts.count() == 0


async def test_a_provider_that_creates_no_accounts_needs_them_provisioned(
    service: TestServer, browser: TestClient[Any, Any], idp: LocalProvider
) -> None:
    """The force's provider (private-key JWT client authentication) lets in only people
    provisioned with `user add --oidc ISSUER:SUBJECT`: before that 403 not_provisioned,
    after it an officer."""
    answer = await sign_in(browser, "force", "olly")
    assert answer.status == 403
    assert 'data-code="not_provisioned"' in await answer.text()
    await provision_account(
        service.app[STORE],
        username="pc-olly",
        role=Role.OFFICER,
        oidc=f"{idp.issuer}:olly",
        now_ms=0,
    )
    answer = await sign_in(browser, "force", "olly")
    assert answer.status == 303
    assert answer.headers["Location"] == "/officer"
    assert (await me(browser))["user"]["username"] == "pc-olly"


async def test_a_disabled_account_stays_disabled(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """An account disabled here is refused (403) whatever the provider says, and the refusal
    is audited naming the provider."""
    await sign_in(browser, "board", "clara")
    username = (await me(browser))["user"]["username"]
    await set_disabled(service.app[STORE], username, True)
    answer = await sign_in(browser, "board", "clara")
    assert answer.status == 403
    assert 'data-code="account_disabled"' in await answer.text()
    assert (await browser.get("/api/v1/me")).status == 401
    failed = [e for e in await audit_entries(service) if e["action"] == "login_failed"]
    assert failed[-1]["provider"] == "board"


async def test_a_replayed_callback_or_code_is_refused(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A callback URL answered once is refused the second time (its state is used up), and
    its code sent again with a fresh sign-in's state is refused by the provider: one code,
    one sign-in."""
    callback = await back_from_provider(browser, "board", "clara")
    assert (await browser.get(callback, allow_redirects=False)).status == 303
    again = await browser.get(callback, allow_redirects=False)
    assert again.status == 400
    assert 'data-code="bad_state"' in await again.text()
    fresh = query_of(await to_provider(browser, "board"))
    old_code = query_of(callback)["code"]
    replay = await browser.get(
        "/auth/oidc/board/callback?" + urlencode({"code": old_code, "state": fresh["state"]}),
        allow_redirects=False,
    )
    assert replay.status == 401
    assert 'data-code="token_refused"' in await replay.text()


async def test_a_callback_in_another_browser_is_refused(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A callback opened in a browser that did not start the sign-in (an attacker's code
    and state pushed into a victim's browser) is refused: the state is bound to the browser
    by its Lax cookie."""
    callback = await back_from_provider(browser, "board", "clara")
    victim = TestClient(service)
    await victim.start_server()
    try:
        answer = await victim.get(callback, allow_redirects=False)
        assert answer.status == 400
        assert 'data-code="bad_state"' in await answer.text()
        assert (await victim.get("/api/v1/me")).status == 401
    finally:
        await victim.close()


async def test_a_token_with_another_nonce_is_refused(
    service: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A code obtained with another nonce than the sign-in's (a token injected from another
    flow) is refused: the ID token's nonce must be the one this sign-in sent."""
    authorize = await to_provider(browser, "board")
    params = dict(query_of(authorize), nonce="a-nonce-of-another-flow")
    forged = authorize.split("?")[0] + "?" + urlencode(params)
    callback = await back_from_provider(browser, "board", "clara", authorize=forged)
    answer = await browser.get(callback, allow_redirects=False)
    assert answer.status == 401
    assert 'data-code="id_token_invalid"' in await answer.text()
    assert (await browser.get("/api/v1/me")).status == 401


async def test_an_expired_id_token_is_refused(
    idp: LocalProvider, key_prefix: str, redis_client: aioredis.Redis
) -> None:
    """An ID token past its expiry (the service's clock two hours on; the provider's tokens
    last one hour) is refused."""
    server = await serve(
        identity_settings(idp, key_prefix),
        idp.service_port,
        clock=lambda: int(time.time() * 1000) + 2 * 3600 * 1000,
    )
    browser = TestClient(server)
    await browser.start_server()
    try:
        answer = await sign_in(browser, "board", "clara")
        assert answer.status == 401
        assert "expired" in await answer.text()
    finally:
        await browser.close()
        await server.close()


async def test_signing_out_ends_the_provider_session_too(
    service: TestServer, browser: TestClient[Any, Any], idp: LocalProvider
) -> None:
    """Signing out of a provider sign-in answers 204 with X-Sign-Out-Location: the provider's
    end-session endpoint with the ID token as hint and this service's page to come back to.
    A password sign-out has none."""
    await sign_in(browser, "board", "clara")
    csrf = (await me(browser))["csrf_token"]
    out = await browser.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})
    assert out.status == 204
    location = out.headers["X-Sign-Out-Location"]
    assert location.startswith(f"{idp.issuer}/session/end?")
    query = query_of(location)
    assert query["client_id"] == "triage"
    assert query["post_logout_redirect_uri"] == str(browser.make_url("/"))
    assert query["id_token_hint"].count(".") == 2
    assert (await browser.get("/api/v1/me")).status == 401


async def test_sign_in_page_shows_a_button_per_provider(browser: TestClient[Any, Any]) -> None:
    """The sign-in page offers "Sign in with LABEL" for each provider (test id oidc-{id})."""
    page = await (await browser.get("/")).text()
    assert 'data-testid="oidc-board"' in page
    assert "Sign in with NHS Lothian" in page
    assert 'data-testid="oidc-force"' in page
    assert "Sign in with Police Scotland" in page


async def test_unknown_provider_is_not_found(browser: TestClient[Any, Any]) -> None:
    """A provider name that is not in the providers file is a 404 page."""
    assert (await browser.get("/auth/oidc/nope/login", allow_redirects=False)).status == 404


async def test_the_provider_saying_no_is_explained(browser: TestClient[Any, Any]) -> None:
    """A callback carrying the provider's error (the person cancelled) explains it (400)."""
    answer = await browser.get("/auth/oidc/board/callback?error=access_denied&state=x")
    assert answer.status == 400
    assert "access_denied" in await answer.text()


# The ID token checks, on tokens from the same running provider ----------------------------


def board(issuer: str, client_id: str = "triage") -> Provider:
    """The board's provider as the service knows it (or as another client of the issuer)."""
    return Provider(
        id="board",
        name="NHS Lothian",
        issuer=issuer,
        client_id=client_id,
        client_secret=OTHER_SECRET if client_id == "other" else None,
        private_key_file=None,
        scopes=("openid", "profile"),
        role_claim=None,
        roles={},
        role=Role.CLINICIAN,
        boards_claim=None,
        boards=None,
        team_claim=None,
        team=None,
        username_claim="preferred_username",
        create_accounts=True,
    )


async def token_for_other_service(idp: LocalProvider, client: OidcClient) -> tuple[str, str]:
    """An ID token the provider issued to another service (client `other`), and its nonce."""
    other = board(idp.issuer, "other")
    metadata = await client.metadata(other)
    redirect = f"http://127.0.0.1:{idp.service_port}/auth/oidc/other/callback"
    pkce = Pkce.new()
    url = client.authorization_url(
        other, metadata, redirect_uri=redirect, state="s", nonce="n-other", pkce=pkce
    )
    async with provider_browser() as http:
        back = await sign_in_at_provider(http, url, login="clara", until=redirect)
    token = await client.exchange(
        other, metadata, code=query_of(back)["code"], redirect_uri=redirect, verifier=pkce.verifier
    )
    return token, "n-other"


@pytest.fixture
async def oidc_client() -> AsyncIterator[OidcClient]:
    """The service's OpenID client on its own HTTP session."""
    async with aiohttp.ClientSession() as http:
        yield OidcClient(AiohttpProviders(http))


async def test_a_token_for_another_audience_is_refused(
    idp: LocalProvider, oidc_client: OidcClient
) -> None:
    """A genuine ID token from the same provider, issued to another service, is refused by
    this one (aud); the same token passes for the service it was issued to."""
    token, nonce = await token_for_other_service(idp, oidc_client)
    other = board(idp.issuer, "other")
    metadata = await oidc_client.metadata(other)
    assert (await oidc_client.verified_claims(other, metadata, token, nonce=nonce))["sub"]
    ours = board(idp.issuer)
    with pytest.raises(OidcError, match="aud"):
        await oidc_client.verified_claims(ours, metadata, token, nonce=nonce)


async def test_a_forged_or_tampered_token_is_refused(
    idp: LocalProvider, oidc_client: OidcClient
) -> None:
    """Tokens with valid-looking claims are refused when signed by a key the provider never
    published (under its key id), when unsigned (`alg: none`), when signed with HMAC, and
    when a genuine token's claims are changed."""
    ours = board(idp.issuer)
    metadata = await oidc_client.metadata(ours)
    genuine, nonce = await token_for_other_service(idp, oidc_client)
    head, _claims, signature = genuine.split(".")
    key_id = json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]
    now = int(time.time())
    claims: dict[str, Any] = {"iss": idp.issuer, "aud": "triage", "sub": "clara"}
    claims |= {"nonce": nonce, "iat": now, "exp": now + 600}
    forger = RSAKey.generate_key(2048, private=True)
    forged = jwt.encode({"alg": "RS256", "kid": key_id}, claims, forger)
    hmac_key = OctKey.import_key("a shared secret nobody was given, 32+ bytes long")
    hmac = jwt.encode({"alg": "HS256", "kid": key_id}, claims, hmac_key, algorithms=["HS256"])
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    tampered = f"{head}.{_b64(claims)}.{signature}"
    for token in (forged, hmac, unsigned, tampered):
        with pytest.raises(OidcError, match="signature"):
            await oidc_client.verified_claims(ours, metadata, token, nonce=nonce)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
