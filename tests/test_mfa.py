"""A second factor for local accounts through the API: enrolment right after the password
for the roles that need it (TOTP with a QR code and ten recovery codes, or a passkey),
codes that work once, recovery codes, the throttle, and `user reset-mfa`."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import pyotp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from conftest import PASSWORD, FakeClock, create_account, read_stream
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.mfa import reset_second_factors
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import STORE

REQUIRED = pytest.mark.settings(mfa_required_roles="admin,supervisor")


class TotpClock(FakeClock):
    """The test's clock, which also tells the TOTP code a phone would show at its time."""

    def code(self, secret: str, *, steps: int = 0) -> str:
        """The TOTP code of `secret` now (or `steps` time steps on)."""
        return pyotp.TOTP(secret).at(self.now_ms // 1000 + 30 * steps)


@pytest.fixture
def clock() -> TotpClock:
    """The app's clock."""
    return TotpClock()


@pytest.fixture
async def server(
    settings: Settings, redis_client: aioredis.Redis, clock: TotpClock
) -> AsyncIterator[TestServer]:
    """The app on a real HTTP server, on the fake clock."""
    test_server = TestServer(create_app(settings, clock=clock))
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def browser(server: TestServer) -> AsyncIterator[TestClient[Any, Any]]:
    """An HTTP client keeping the service's cookies."""
    client = TestClient(server)
    await client.start_server()
    yield client
    await client.close()


async def login(client: TestClient[Any, Any], user: User, **more: str) -> tuple[int, Any]:
    """POST /api/v1/login as `user` with the shared password (and `otp` or `recovery_code`)."""
    body = {"username": user.username, "password": PASSWORD, **more}
    async with client.post("/api/v1/login", json=body) as answer:
        return answer.status, await answer.json()


async def post(
    client: TestClient[Any, Any], path: str, body: dict[str, Any], csrf: str = ""
) -> tuple[int, Any]:
    """POST JSON; the status and the decoded answer."""
    async with client.post(path, json=body, headers={"X-CSRF-Token": csrf}) as answer:
        return answer.status, await answer.json()


async def enrol_totp(
    client: TestClient[Any, Any], user: User, clock: TotpClock
) -> tuple[str, list[str]]:
    """Enrol `user` through the enrolment token of their password sign-in; the secret and
    the recovery codes (the client is then signed in)."""
    status, body = await login(client, user)
    assert status == 401 and body["error"]["code"] == "mfa_enrolment_required", body
    token = body["error"]["enrolment_token"]
    status, totp = await post(client, "/api/v1/mfa/totp", {"enrolment_token": token})
    assert status == 200, totp
    code = clock.code(totp["secret"])
    status, done = await post(
        client, "/api/v1/mfa/totp/confirm", {"code": code, "enrolment_token": token}
    )
    assert status == 200, done
    return totp["secret"], done["recovery_codes"]


async def audit(server: TestServer) -> list[dict[str, str]]:
    """Every access-log entry, oldest first."""
    store = server.app[STORE]
    return await read_stream(store.client, store.keys.audit)


@REQUIRED
async def test_a_role_that_needs_a_second_factor_enrols_after_the_password(
    server: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A supervisor without a second factor gets 401 mfa_enrolment_required after the right
    password, with a short-lived enrolment token and the ways to enrol; not signed in yet.
    A wrong password still gets invalid_credentials (no token)."""
    user = await create_account(server.app, Role.SUPERVISOR)
    status, body = await login(browser, user)
    assert status == 401
    assert body["error"]["code"] == "mfa_enrolment_required"
    assert body["error"]["methods"] == ["totp", "webauthn"]
    token = body["error"]["enrolment_token"]
    assert len(token) >= 40
    store = server.app[STORE]
    assert 0 < await store.client.ttl(store.keys.mfa_enrolment(token)) <= 600
    assert (await browser.get("/api/v1/me")).status == 401
    async with browser.post(
        "/api/v1/login", json={"username": user.username, "password": "wrong one"}
    ) as wrong:
        assert (await wrong.json())["error"] == {
            "code": "invalid_credentials",
            "message": "Wrong username or password.",
        }


@REQUIRED
async def test_totp_enrolment_gives_a_qr_code_and_ten_recovery_codes(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """Enrolment answers the secret, an otpauth URI naming the service and the user, and
    the URI as a standalone SVG QR code that fetches nothing; confirming with the app's
    code answers ten distinct recovery codes and signs the user in (the enrolment is
    audited)."""
    user = await create_account(server.app, Role.ADMIN)
    _, body = await login(browser, user)
    token = body["error"]["enrolment_token"]
    _, totp = await post(browser, "/api/v1/mfa/totp", {"enrolment_token": token})
    assert re.fullmatch(r"[A-Z2-7]{32}", totp["secret"])
    assert totp["otpauth_uri"].startswith("otpauth://totp/Mental%20health%20triage:")
    assert f"secret={totp['secret']}" in totp["otpauth_uri"]
    assert user.username in totp["otpauth_uri"]
    svg = totp["qr_svg"]
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert not re.search(r"(href|src)=|url\(|@import", svg)
    status, done = await post(
        browser,
        "/api/v1/mfa/totp/confirm",
        {"code": clock.code(totp["secret"]), "enrolment_token": token},
    )
    assert status == 200
    codes = done["recovery_codes"]
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", c) for c in codes)
    assert done["user"]["id"] == user.id
    me = await browser.get("/api/v1/me")
    assert me.status == 200
    assert (await me.json())["csrf_token"] == done["csrf_token"]
    enrolled = [e for e in await audit(server) if e["action"] == "mfa_enrolled"]
    assert [(e["user_id"], e["factor"]) for e in enrolled] == [(user.id, "totp")]


@REQUIRED
async def test_a_wrong_confirmation_code_is_refused(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """A confirmation code that is not the new secret's is 422 naming `code`; the enrolment
    stays pending and the user is still not signed in."""
    user = await create_account(server.app, Role.SUPERVISOR)
    _, body = await login(browser, user)
    token = body["error"]["enrolment_token"]
    _, totp = await post(browser, "/api/v1/mfa/totp", {"enrolment_token": token})
    wrong = str((int(clock.code(totp["secret"])) + 1) % 1_000_000).zfill(6)
    status, refused = await post(
        browser, "/api/v1/mfa/totp/confirm", {"code": wrong, "enrolment_token": token}
    )
    assert status == 422
    assert refused["error"]["fields"] == {"code": "does not match"}
    assert (await browser.get("/api/v1/me")).status == 401


@REQUIRED
async def test_an_unconfirmed_enrolment_does_not_let_anyone_in(
    server: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A secret enrolled but never confirmed counts for nothing: the password alone still
    answers mfa_enrolment_required, and a code from that secret does not sign in."""
    user = await create_account(server.app, Role.SUPERVISOR)
    _, body = await login(browser, user)
    token = body["error"]["enrolment_token"]
    _, totp = await post(browser, "/api/v1/mfa/totp", {"enrolment_token": token})
    status, again = await login(browser, user, otp=pyotp.TOTP(totp["secret"]).now())
    assert status == 401
    assert again["error"]["code"] == "mfa_enrolment_required"


@REQUIRED
async def test_an_enrolled_user_gives_a_code_and_each_code_works_once(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """After enrolment the password alone answers mfa_required (naming the code and the
    recovery code); the password with the app's code signs in; the same code again is
    refused (invalid_otp) even in the same 30 seconds; the next one works."""
    user = await create_account(server.app, Role.SUPERVISOR)
    secret, _ = await enrol_totp(browser, user, clock)
    status, body = await login(browser, user)
    assert (status, body["error"]["code"]) == (401, "mfa_required")
    assert body["error"]["methods"] == ["totp", "recovery_code"]
    clock.advance(30)
    code = clock.code(secret)
    assert (await login(browser, user, otp=code))[0] == 200
    status, body = await login(browser, user, otp=code)
    assert (status, body["error"]["code"]) == (401, "invalid_otp")
    assert (await login(browser, user, otp=clock.code(secret, steps=1)))[0] == 200
    logins = [e for e in await audit(server) if e["action"] == "login"]
    assert logins[-1]["factor"] == "totp"


@REQUIRED
async def test_a_code_sent_twice_at_once_signs_in_once(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """Two sign-ins racing with the same code: exactly one is let in (the time step is used
    in one atomic store step)."""
    user = await create_account(server.app, Role.SUPERVISOR)
    secret, _ = await enrol_totp(browser, user, clock)
    clock.advance(30)
    code = clock.code(secret)
    results = await asyncio.gather(*(login(browser, user, otp=code) for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 401, 401, 401]


@REQUIRED
async def test_recovery_codes_work_once_and_are_audited(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """A recovery code (any case, dashes or spaces) signs in once; the second time it is
    refused; its use is audited."""
    user = await create_account(server.app, Role.SUPERVISOR)
    _, codes = await enrol_totp(browser, user, clock)
    typed = codes[3].upper().replace("-", " ")
    assert (await login(browser, user, recovery_code=typed))[0] == 200
    status, body = await login(browser, user, recovery_code=codes[3])
    assert (status, body["error"]["code"]) == (401, "invalid_recovery_code")
    assert await server.app[STORE].factors.recovery_codes_left(user.id) == 9
    used = [e for e in await audit(server) if e["action"] == "recovery_code_used"]
    assert [e["user_id"] for e in used] == [user.id]


@REQUIRED
async def test_wrong_codes_count_towards_the_sign_in_throttle(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """Wrong codes with the right password are failed sign-ins: after five, even the right
    code waits (429 with Retry-After); each is audited as a failed sign-in."""
    user = await create_account(server.app, Role.SUPERVISOR)
    secret, _ = await enrol_totp(browser, user, clock)
    clock.advance(30)
    for _ in range(5):
        status, body = await login(browser, user, otp="000000")
        assert (status, body["error"]["code"]) == (401, "invalid_otp")
    async with browser.post(
        "/api/v1/login",
        json={"username": user.username, "password": PASSWORD, "otp": clock.code(secret)},
    ) as answer:
        assert answer.status == 429
        assert answer.headers["Retry-After"] == "1"
    failed = [e for e in await audit(server) if e["action"] == "login_failed"]
    assert [e.get("factor") for e in failed] == ["totp"] * 5


async def test_a_role_that_needs_none_signs_in_with_the_password_until_it_enrols(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """An officer (no second factor required) signs in with the password; once they enrol
    one themselves (signed in, with the CSRF header) it is asked for every time."""
    user = await create_account(server.app, Role.OFFICER)
    status, body = await login(browser, user)
    assert status == 200
    csrf = body["csrf_token"]
    assert (await post(browser, "/api/v1/mfa/totp", {}))[0] == 403  # no CSRF header
    _, totp = await post(browser, "/api/v1/mfa/totp", {}, csrf)
    status, done = await post(
        browser, "/api/v1/mfa/totp/confirm", {"code": clock.code(totp["secret"])}, csrf
    )
    assert status == 200
    assert len(done["recovery_codes"]) == 10
    assert done["user"] is None
    assert (await login(browser, user))[1]["error"]["code"] == "mfa_required"


@REQUIRED
async def test_an_enrolment_token_is_for_one_enrolment_only(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """Once used to enrol, the token is spent; a token that was never issued gets nothing;
    without a token or a session enrolment is 401."""
    user = await create_account(server.app, Role.SUPERVISOR)
    _, body = await login(browser, user)
    token = body["error"]["enrolment_token"]
    _, totp = await post(browser, "/api/v1/mfa/totp", {"enrolment_token": token})
    await post(
        browser,
        "/api/v1/mfa/totp/confirm",
        {"code": clock.code(totp["secret"]), "enrolment_token": token},
    )
    for tried in (token, "x" * 43):
        status, refused = await post(browser, "/api/v1/mfa/totp", {"enrolment_token": tried})
        assert (status, refused["error"]["code"]) == (401, "invalid_enrolment_token")
    stranger = TestClient(server)
    await stranger.start_server()
    try:
        status, refused = await post(stranger, "/api/v1/mfa/totp", {})
        assert (status, refused["error"]["code"]) == (401, "not_signed_in")
    finally:
        await stranger.close()


@REQUIRED
async def test_reset_mfa_removes_the_factors_ends_sessions_and_is_audited(
    server: TestServer, browser: TestClient[Any, Any], clock: TotpClock
) -> None:
    """`user reset-mfa` (a lost phone) removes the secret and the recovery codes, ends the
    user's sessions and is audited; the next password sign-in enrols afresh."""
    user = await create_account(server.app, Role.SUPERVISOR)
    _, codes = await enrol_totp(browser, user, clock)
    assert (await browser.get("/api/v1/me")).status == 200
    assert await reset_second_factors(server.app[STORE], user.username, now_ms=clock()) == 0
    assert (await browser.get("/api/v1/me")).status == 401
    status, body = await login(browser, user, recovery_code=codes[0])
    assert (status, body["error"]["code"]) == (401, "mfa_enrolment_required")
    resets = [e for e in await audit(server) if e["action"] == "mfa_reset"]
    assert [e["user_id"] for e in resets] == [user.id]


@pytest.mark.settings(mfa_required_roles="supervisor", local_login_roles="officer,supervisor")
async def test_roles_may_be_kept_off_password_sign_in(
    server: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A role left out of TRIAGE_LOCAL_LOGIN_ROLES is refused a password sign-in with 403
    local_sign_in_disabled (its people sign in through their organisation), even with the
    right password; the roles listed still sign in."""
    clinician = await create_account(server.app, Role.CLINICIAN)
    status, body = await login(browser, clinician)
    assert (status, body["error"]["code"]) == (403, "local_sign_in_disabled")
    officer = await create_account(server.app, Role.OFFICER)
    assert (await login(browser, officer))[0] == 200


async def test_a_passkey_answer_that_does_not_verify_is_refused(
    server: TestServer, browser: TestClient[Any, Any]
) -> None:
    """A passkey sign-in whose answer names no registered passkey is 401 invalid_passkey, and
    the prompt it answered is used up (a second answer to it is refused too)."""
    status, ceremony = await post(browser, "/api/v1/login/webauthn/options", {})
    assert status == 200
    options = ceremony["publicKey"]
    assert options["userVerification"] == "required"
    assert options["rpId"] == "127.0.0.1"
    answer = {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}
    body = {"ceremony_id": ceremony["ceremony_id"], "credential": answer}
    for _ in range(2):
        status, refused = await post(browser, "/api/v1/login/webauthn/verify", body)
        assert (status, refused["error"]["code"]) == (401, "invalid_passkey")


def test_demo_accounts_need_no_second_factor() -> None:
    """By default admins and supervisors need a second factor; `--demo-accounts` makes the
    default no role (an explicit list still applies); the lists are checked at start-up."""
    declared = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert declared["mfa_required_roles"] == "auto"  # (tests/conftest.py: "" in tests)
    assert Settings(mfa_required_roles="auto").mfa_roles == {Role.ADMIN, Role.SUPERVISOR}
    assert Settings(mfa_required_roles="auto", demo_accounts=True).mfa_roles == frozenset()
    assert Settings(demo_accounts=True, mfa_required_roles="admin").mfa_roles == {Role.ADMIN}
    assert Settings(mfa_required_roles="").mfa_roles == frozenset()
    assert Settings().local_roles == frozenset(Role)
    assert Settings(local_login_roles="").local_roles == frozenset()
    env = {"TRIAGE_MFA_REQUIRED_ROLES": "", "TRIAGE_LOCAL_LOGIN_ROLES": "admin"}
    from_env = Settings.from_env(env, argv=[])
    assert (from_env.mfa_roles, from_env.local_roles) == (frozenset(), frozenset({Role.ADMIN}))
    with pytest.raises(ValueError, match="mfa_required_roles must be roles"):
        Settings(mfa_required_roles="admin,boss")
