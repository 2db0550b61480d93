"""Browser fixtures: Debian's Chromium driven by Playwright, with fake camera and microphone.

Each test gets its own browser (launching takes well under a second) so the browser lives on
the same event loop as the test's aiohttp server. Pages sign in through the sign-in page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    Geolocation,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
)

from conftest import PASSWORD, create_account
from triage_service.domain.codes import Role
from triage_service.tools.pages import fill_request as fill_request
from triage_service.tools.pages import go_available as go_available
from triage_service.tools.pages import sign_in_page

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Grants every camera and microphone prompt; without it, what a context was not granted is
# refused.
FAKE_UI = "--use-fake-ui-for-media-stream"
PHONE: ViewportSize = {"width": 360, "height": 740}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}

PageFactory = Callable[..., Awaitable[Page]]

PLAYING = """(testid) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video || video.videoWidth === 0) return false;
  const now = [video.currentTime, video.getVideoPlaybackQuality().totalVideoFrames];
  const seen = JSON.parse(video.dataset.seen || '[-1, -1]');
  video.dataset.seen = JSON.stringify(now);
  return seen[0] >= 0 && now[0] > seen[0] && now[1] > seen[1];
}"""


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    """The Playwright driver."""
    async with async_playwright() as driver:
        yield driver


@pytest.fixture
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """Chromium whose fake camera and microphone are granted without a prompt."""
    chromium = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*BROWSER_ARGS, FAKE_UI]
    )
    yield chromium
    await chromium.close()


@pytest.fixture
async def strict_browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """Chromium that refuses any camera or microphone its context was not granted."""
    chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
    yield chromium
    await chromium.close()


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[PageFactory]:
    """Factory: `await open_page(server, "officer")` → a page signed in as a new account.

    Uncaught script errors and Content-Security-Policy violations on any page fail the test.
    """
    errors: list[str] = []

    async def factory(
        server: TestServer,
        role: str,
        *,
        viewport: ViewportSize | None = None,
        permissions: tuple[str, ...] = ("camera", "microphone"),
        on: Browser | None = None,
        geolocation: Geolocation | None = None,
        **account: Any,
    ) -> Page:
        user = await create_account(server.app, Role(role), **account)
        origin = str(server.make_url("")).rstrip("/")
        context = await (on or browser).new_context(
            base_url=origin,
            viewport=viewport or (PHONE if role == "officer" else LAPTOP),
            geolocation=geolocation,
        )
        await context.grant_permissions(list(permissions), origin=origin)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{role}: {error}"))
        page.on(
            "console",
            lambda message: (
                errors.append(f"{role}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        await sign_in_page(page, user.username, PASSWORD, role)
        return page

    yield factory
    assert not errors, f"script errors in the pages: {errors}"


async def wait_state(page: Page, state: str, timeout: float = 20000) -> None:
    """Wait until the session page shows `state` in `connection-state`."""
    await (
        page.get_by_test_id("connection-state")
        .filter(has_text=re.compile(f"^{state}$"))
        .wait_for(timeout=timeout)
    )


async def wait_playing(page: Page, testid: str = "remote-video", timeout: float = 20000) -> None:
    """Wait until the video has a size and both its currentTime and its frame count advance."""
    await page.wait_for_function(PLAYING, arg=testid, timeout=timeout, polling=200)


async def chat(sender: Page, receiver: Page, text: str) -> None:
    """Send a chat message from one page and see it arrive on the other."""
    await sender.get_by_test_id("chat-input").fill(text)
    await sender.get_by_test_id("chat-send").click()
    await receiver.get_by_test_id("chat-log").get_by_text(text).wait_for()


async def request_and_accept(officer: Page, clinician: Page) -> None:
    """The officer asks; the request shows live on the console; the clinician accepts."""
    await go_available(clinician)
    await fill_request(officer)
    item = clinician.get_by_test_id("queue-item")
    await item.wait_for()
    assert "Glasgow City Centre" in (await item.text_content() or "")
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")


async def both_see_video(officer: Page, clinician: Page) -> None:
    """Both pages are connected with the other side's video playing."""
    for page in (officer, clinician):
        await wait_state(page, "connected")
        await wait_playing(page)
