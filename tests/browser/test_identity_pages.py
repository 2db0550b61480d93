"""The sign-in page in Chromium, the whole way: through a real OpenID Connect provider (on
another site) as an officer, a clinician and a board-limited supervisor, and out again at
the provider; a second factor enrolled with the QR code, then a code, then a recovery code;
and a passkey (Chromium's virtual authenticator) registered at enrolment and used to sign in.

The service is opened as http://localhost:PORT (a secure context, and a valid WebAuthn
relying party id); the provider runs at http://127.0.0.1:PORT2, another site, so the
provider's redirect back is a cross-site navigation as it is in production."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, Request
from playwright.async_api import TimeoutError as PlaywrightTimeout

from conftest import PASSWORD, REDIS_URL, create_account
from oidc_provider import LocalProvider, running_provider
from triage_service.domain.codes import Role
from triage_service.service.accounts import get_user
from triage_service.service.identity import provision_account
from triage_service.service.mfa import begin_totp, confirm_totp
from triage_service.service.sessions import end_user_sessions
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import STORE
from triage_tools.pages import HOME

from .conftest import PageFactory, assert_accessible, fill_for_review, fill_request, go_available


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """The OpenID provider, with the service's providers and areas files for it: one for the
    module's tests (each signs in with a browser session of its own, against a service with
    a key prefix of its own), as starting it takes half a second."""
    with running_provider(tmp_path_factory.mktemp("idp")) as provider:
        yield provider


@pytest.fixture
async def identity_server(
    idp: LocalProvider, key_prefix: str, redis_client: aioredis.Redis
) -> AsyncIterator[TestServer]:
    """The service signing staff in through `idp`, on the port its clients name."""
    settings = Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        sweep_interval_s=0.1,
        mfa_required_roles="",
        oidc_file=str(idp.oidc_file),
        areas_file=str(idp.areas_file),
    )
    server = TestServer(create_app(settings), port=idp.service_port)
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Browser contexts a test opens; script errors and CSP violations on any of its pages
    (the service's) fail the test."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def open_service(
    server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> tuple[Page, list[str]]:
    """A fresh browser on http://localhost:PORT/ (nothing outside this machine is fetched);
    the page and the list its script errors are collected in."""
    origin = f"http://localhost:{server.port}"
    context = await browser.new_context(base_url=origin, viewport={"width": 1280, "height": 800})
    contexts.append(context)
    await context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname in ("localhost", "127.0.0.1")
            else route.abort()
        ),
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await page.goto("/")
    return page, errors


async def through_provider(page: Page, provider: str, login: str) -> None:
    """Press "Sign in with …" and sign in at the provider's form as `login`."""
    await page.get_by_test_id(f"oidc-{provider}").click()
    await page.locator('input[name="login"]').fill(login)
    await page.locator('input[name="password"]').fill("any password")
    await page.locator("button.login-submit").click()


def arrivals_at(page: Page, path: str) -> list[bool]:
    """For each request the page makes for `path`, whether it carried the session cookie."""
    arrivals: list[bool] = []

    def seen(request: Request) -> None:
        if urlsplit(request.url).path == path:
            arrivals.append("triage_session=" in request.headers.get("cookie", ""))

    page.on("request", seen)
    return arrivals


async def sign_out(page: Page) -> None:
    """Press Sign out."""
    await page.get_by_test_id("sign-out").click()


@pytest.mark.timeout(180)
async def test_staff_sign_in_through_their_identity_provider(
    identity_server: TestServer,
    idp: LocalProvider,
    browser: Browser,
    contexts: list[BrowserContext],
) -> None:
    """An officer (the force's provider, provisioned), a clinician and a supervisor limited
    to one board (the board's provider, accounts from claims) each press their provider's
    button, sign in there and land on their own page, signed in, after the provider's
    cross-site redirect back (which brings no Strict cookie: one same-site hop does)."""
    await provision_account(
        identity_server.app[STORE],
        username="pc-olly",
        role=Role.OFFICER,
        oidc=f"{idp.issuer}:olly",
        now_ms=0,
    )
    for provider, login, role, name in (
        ("force", "olly", "officer", "PC Olly Officer"),
        ("board", "clara", "clinician", "Clara Clinician"),
        ("board", "sam", "supervisor", "Sam Supervisor"),
    ):
        page, errors = await open_service(identity_server, browser, contexts)
        arrivals = arrivals_at(page, HOME[role])
        await through_provider(page, provider, login)
        await page.wait_for_url(f"**{HOME[role]}")
        await page.get_by_text(f"{name} · {role}").wait_for()
        # Chromium keeps the Strict cookie off the provider's redirect chain; the page's
        # same-site hop brings it.
        assert arrivals == [False, True]
        assert not errors, errors
    # The supervisor's claims name Lothian only: another board's figures are refused.
    status = await page.evaluate("async () => (await fetch('/api/v1/stats?board=glasgow')).status")
    assert status == 403


@pytest.mark.timeout(180)
async def test_signing_out_ends_the_provider_session(
    identity_server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """While the provider session lasts, signing in again needs no password there; after
    Sign out (here, then at the provider) the provider asks for it again."""
    page, errors = await open_service(identity_server, browser, contexts)
    await through_provider(page, "board", "clara")
    await page.wait_for_url("**/console")
    await page.get_by_text("Clara Clinician · clinician").wait_for()  # after the same-site hop
    await page.context.clear_cookies(name="triage_session")
    await page.goto("/")
    await page.get_by_test_id("oidc-board").click()
    await page.wait_for_url("**/console")  # single sign-on: no form at the provider
    await sign_out(page)
    await page.get_by_role("button", name="Yes, sign me out").click()
    await page.wait_for_url(f"http://localhost:{identity_server.port}/")
    await page.get_by_test_id("oidc-board").click()
    await page.locator('input[name="login"]').wait_for()
    assert not errors, errors


@pytest.mark.settings(mfa_required_roles="supervisor")
@pytest.mark.timeout(120)
async def test_a_second_factor_enrolled_then_used_in_the_page(
    server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """A supervisor with no second factor signs in with the password, scans the QR code
    shown (an SVG image drawn by the service), confirms with the app's code, is shown ten
    recovery codes and goes on to their page; next time the page asks for the code after
    the password; the time after, a recovery code does instead."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page, errors = await open_service(server, browser, contexts)
    await password(page, user.username)
    await page.get_by_test_id("enrol-totp").click()
    qr = page.get_by_test_id("mfa-qr")
    await page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=mfa-qr]');"
        " return i.complete && i.naturalWidth > 100; }"
    )
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    secret = await page.get_by_test_id("mfa-secret").text_content() or ""
    totp = pyotp.TOTP(secret)
    await page.get_by_test_id("mfa-enrol-code").fill(totp.now())
    await page.get_by_test_id("mfa-enrol-submit").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    await codes.first.wait_for()
    recovery = await codes.all_text_contents()
    assert len(recovery) == 10
    await page.get_by_test_id("recovery-continue").click()
    await page.wait_for_url("**/supervisor")

    await sign_out(page)
    await page.wait_for_url(f"http://localhost:{server.port}/")
    await password(page, user.username)
    await page.get_by_test_id("mfa-code").fill(totp.at(time.time() + 30))  # not the one used
    await page.get_by_test_id("mfa-submit").click()
    await page.wait_for_url("**/supervisor")

    await sign_out(page)
    await page.wait_for_url(f"http://localhost:{server.port}/")
    await password(page, user.username)
    await page.get_by_test_id("mfa-use-recovery").click()
    await page.get_by_test_id("mfa-recovery-code").fill(recovery[0])
    await page.get_by_test_id("mfa-submit").click()
    await page.wait_for_url("**/supervisor")
    assert not errors, errors


@pytest.mark.settings(mfa_required_roles="supervisor")
@pytest.mark.timeout(120)
async def test_a_passkey_registered_then_used_to_sign_in(
    server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """With Chromium's virtual authenticator (a platform passkey with user verification), a
    supervisor enrols a passkey right after the password and is signed in; after signing
    out, "Sign in with a passkey" alone signs them in (no username, no password); after the
    password, the page offers the passkey as the second step."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page, errors = await open_service(server, browser, contexts)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    authenticator = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    await password(page, user.username)
    await page.get_by_test_id("enrol-passkey").click()
    await page.wait_for_url("**/supervisor")
    stored: dict[str, Any] = await cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]}
    )
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]

    await sign_out(page)
    await page.wait_for_url(f"http://localhost:{server.port}/")
    await page.get_by_test_id("passkey-sign-in").click()
    await page.wait_for_url("**/supervisor")

    await sign_out(page)
    await page.wait_for_url(f"http://localhost:{server.port}/")
    await password(page, user.username)
    await page.get_by_test_id("mfa-use-passkey").click()
    await page.wait_for_url("**/supervisor")
    assert not errors, errors


async def password(page: Page, username: str) -> None:
    """Fill the username and the shared test password and press Sign in."""
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def test_a_lapsed_sign_in_asks_for_the_second_step_in_the_dialog(
    server: TestServer, open_page: PageFactory
) -> None:
    """A clinician with an authenticator app whose sign-in lapses mid-call is asked, in the
    sign-in-again dialog on the same page, for the password and then the app's code; the
    outcome they had filled in is then filed."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    await fill_request(officer, mode="text")
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    store = server.app[STORE]
    user = await get_user(store, await clinician.get_attribute("#session", "data-user-id") or "")
    assert user is not None
    secret = (await begin_totp(store, user)).secret
    await confirm_totp(store, user, pyotp.TOTP(secret).now(), now_ms=int(time.time() * 1000))
    await fill_for_review(clinician)
    await end_user_sessions(store, user.id)  # the sign-in lapses
    dialog = clinician.get_by_test_id("resignin-dialog")
    confirmed = True
    try:
        await clinician.get_by_test_id("outcome-confirm").click(timeout=5000)
    except PlaywrightTimeout:  # the live channel noticed the lapse first: the dialog is up
        confirmed = False
    await dialog.wait_for()
    await clinician.get_by_test_id("resignin-password").fill(PASSWORD)
    await clinician.get_by_test_id("resignin-submit").click()
    await clinician.get_by_test_id("resignin-otp").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await clinician.get_by_test_id("resignin-submit").click()
    await dialog.wait_for(state="detached")
    if not confirmed:  # else the page sends the confirmed outcome itself once signed in
        await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_test_id("session-status").filter(has_text="Outcome filed").wait_for()


@pytest.mark.settings(mfa_required_roles="supervisor")
async def test_the_second_step_pages_are_accessible(
    server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """axe-core finds no serious violation in the second-step states of the sign-in page:
    the choice of factor with the QR code, the recovery codes, the code prompt and the
    recovery-code prompt (light and dark)."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page, _ = await open_service(server, browser, contexts)
    await password(page, user.username)
    await page.get_by_test_id("enrol-totp").click()
    await page.get_by_test_id("mfa-secret").filter(has_text=re.compile("^[A-Z2-7]{32}$")).wait_for()
    await assert_accessible(page, "enrolment with the QR code")
    secret = await page.get_by_test_id("mfa-secret").text_content() or ""
    await page.get_by_test_id("mfa-enrol-code").fill(pyotp.TOTP(secret).now())
    await page.get_by_test_id("mfa-enrol-submit").click()
    await page.get_by_test_id("recovery-continue").wait_for()
    await assert_accessible(page, "recovery codes")
    await page.context.clear_cookies()
    await page.goto("/")
    await password(page, user.username)
    await page.get_by_test_id("mfa-code").wait_for()
    await assert_accessible(page, "code prompt")
    await page.get_by_test_id("mfa-use-recovery").click()
    await page.emulate_media(color_scheme="dark")
    await assert_accessible(page, "recovery-code prompt, dark theme")


async def test_the_sign_in_page_with_providers_is_accessible(
    identity_server: TestServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """axe-core finds no serious violation on the sign-in page with its provider buttons."""
    page, _ = await open_service(identity_server, browser, contexts)
    await page.get_by_test_id("oidc-board").wait_for()
    await assert_accessible(page, "sign-in with providers")
