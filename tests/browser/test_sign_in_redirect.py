"""After signing in, `next` may only lead to one of this service's own pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from conftest import PASSWORD, create_account
from triage_service.domain.codes import Role

HOSTILE_NEXT = (
    "/%5Cevil.example/x",
    "/%09/evil.example",
    "//evil.example/x",
    "https://evil.example/",
)


async def sign_in_with_next(server: TestServer, browser: Browser, next_query: str) -> str:
    """Sign in as a new clinician from `/?next=…` and return the URL the page lands on."""
    user = await create_account(server.app, Role.CLINICIAN)
    origin = str(server.make_url("")).rstrip("/")
    context = await browser.new_context(base_url=origin)
    page = await context.new_page()
    # Anything that would leave the service is refused rather than fetched.
    await page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == "127.0.0.1"
            else route.abort()
        ),
    )
    await page.goto(f"/?next={next_query}")
    await page.get_by_test_id("login-username").fill(user.username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(lambda url: url != f"{origin}/?next={next_query}")
    await page.wait_for_load_state()
    url = page.url
    await context.close()
    return url


@pytest.mark.parametrize("next_query", HOSTILE_NEXT)
async def test_sign_in_never_redirects_off_site(
    server: TestServer, browser: Browser, next_query: str
) -> None:
    """A `next` like `/\\evil.example/x` or `/<tab>/evil.example` lands on the role's own
    page, never on another host."""
    url = await sign_in_with_next(server, browser, next_query)
    assert url == str(server.make_url("/console"))


async def test_sign_in_follows_next_to_own_page(server: TestServer, browser: Browser) -> None:
    """A `next` naming one of the service's pages is followed after signing in."""
    url = await sign_in_with_next(server, browser, "/session/abc123")
    assert url == str(server.make_url("/session/abc123"))
