"""Browser fixtures: Debian's Chromium and its headless shell driven by Playwright, with fake
camera and microphone.

A worker's browser tests share one event loop, driver and browser of each kind (`KINDS`,
`SharedBrowsers`); each test gets contexts of its own. Pages sign in through the login route,
as the sign-in page's script does (`sign_in_by_api`); the sign-in page has tests of its own.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Literal

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

from conftest import OUTCOME_FORM, PASSWORD, REQUEST_FORM, ApiClient, create_account
from support.tabs import TabPool, unused_port
from triage_client.call_flow import accept
from triage_service.domain.codes import Role
from triage_service.web.state import STORE
from triage_tools.pages import HOME
from triage_tools.pages import fill_request as fill_request
from triage_tools.pages import go_available as go_available

CHROMIUM = "/usr/bin/chromium"
# Chromium's headless shell: the same engine without the browser's own user interface, about
# two thirds of the CPU for the same page tests (two modules: 31.7 and 34.4 CPU-seconds
# against 50.8 and 55.8). It reports notifications as denied whatever a context was granted
# and refuses a camera it was not granted with NotSupportedError rather than NotAllowedError,
# so the tests of those prompts run on Chromium itself (`full_browser`, `strict_browser`).
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
BROWSER_ARGS = [
    # Five frames a second from the fake camera: a call of four encodes and decodes twelve
    # streams, which at the default thirty took twice the CPU (59 CPU-seconds against 26 for
    # the guest's call of four here). The network tests, which measure the media, launch
    # their own Chromium at the default rate (support/netcall.py).
    "--use-fake-device-for-media-stream=fps=5",
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
Kind = Literal["shell", "full", "strict"]
# Each kind's executable and whether it grants every camera and microphone prompt.
KINDS: dict[Kind, tuple[str, bool]] = {
    "shell": (HEADLESS_SHELL, True),
    "full": (CHROMIUM, True),
    "strict": (CHROMIUM, False),
}
PHONE: ViewportSize = {"width": 360, "height": 740}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}

PageFactory = Callable[..., Awaitable[Page]]
BROWSER_LOG = pytest.StashKey[list[str]]()

PLAYING = """(testid) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video || video.videoWidth === 0) return false;
  const now = [video.currentTime, video.getVideoPlaybackQuality().totalVideoFrames];
  const seen = JSON.parse(video.dataset.seen || '[-1, -1]');
  video.dataset.seen = JSON.stringify(now);
  return seen[0] >= 0 && now[0] > seen[0] && now[1] > seen[1];
}"""


class SharedBrowsers:
    """One event loop, one Playwright driver and one browser of each kind (`KINDS`) for all the
    browser tests of a worker: starting the driver and a browser costs about 0.7 s of CPU,
    which a test of a few seconds paid every time. The pages `open_page` opens are kept tabs
    where they can be (`TabPool`); what else a test leaves (contexts, tasks) is closed when it
    ends."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.driver: Playwright = self.runner.run(async_playwright().start())
        self.browsers: dict[Kind, Browser] = {}
        self.tabs = TabPool()
        self.kept = self.tasks()

    def tasks(self) -> set[asyncio.Task[Any]]:
        """The loop's unfinished tasks."""
        return asyncio.all_tasks(self.runner.get_loop())

    async def browser(self, kind: Kind) -> Browser:
        """The browser of `kind` (`KINDS`), launched again if the last one went away."""
        chromium = self.browsers.get(kind)
        if chromium is None or not chromium.is_connected():
            executable, fake_ui = KINDS[kind]
            args = [*BROWSER_ARGS, FAKE_UI] if fake_ui else BROWSER_ARGS
            chromium = await self.driver.chromium.launch(executable_path=executable, args=args)
            self.browsers[kind] = chromium
            self.kept = self.tasks()
        return chromium

    async def after_test(self) -> None:
        """Take the tabs back, close the test's other contexts and cancel the tasks it left
        running."""
        await self.tabs.take_back()
        kept = self.tabs.contexts()
        for chromium in self.browsers.values():
            for context in chromium.contexts:
                if context not in kept:
                    await context.close()
        left = self.tasks() - self.kept - {asyncio.current_task()}
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def close(self) -> None:
        """Close the tabs, the browsers, the driver and the loop."""
        self.runner.run(self.tabs.close())
        for chromium in self.browsers.values():
            self.runner.run(chromium.close())
        self.runner.run(self.driver.stop())
        self.runner.close()


@pytest.fixture(scope="session")
def shared_browsers() -> Iterator[SharedBrowsers]:
    """The worker's loop, driver and browsers (see `SharedBrowsers`)."""
    shared = SharedBrowsers()
    yield shared
    shared.close()


@pytest.fixture(scope="session")
def server_ports() -> tuple[int, int]:
    """The same two ports for each test's servers, so a kept tab's origin (and base URL) fits
    the next test's server (`TabPool`)."""
    return unused_port(), unused_port()


@pytest.fixture
def _function_scoped_runner(shared_browsers: SharedBrowsers) -> Iterator[asyncio.Runner]:
    """Every browser test and its fixtures run on the worker's one loop (pytest-asyncio asks
    for this fixture by name; elsewhere each test gets a loop of its own)."""
    yield shared_browsers.runner
    shared_browsers.runner.run(shared_browsers.after_test())


@pytest.fixture
def playwright(shared_browsers: SharedBrowsers) -> Playwright:
    """The Playwright driver."""
    return shared_browsers.driver


@pytest.fixture
async def browser(shared_browsers: SharedBrowsers) -> Browser:
    """Chromium's headless shell, whose fake camera and microphone are granted without a
    prompt."""
    return await shared_browsers.browser("shell")


@pytest.fixture
async def full_browser(shared_browsers: SharedBrowsers) -> Browser:
    """Chromium itself, as `browser` granting the fake camera and microphone, for what the
    headless shell does not do as a user's browser does (notifications)."""
    return await shared_browsers.browser("full")


@pytest.fixture
async def strict_browser(shared_browsers: SharedBrowsers) -> Browser:
    """Chromium itself, refusing any camera or microphone its context was not granted."""
    return await shared_browsers.browser("strict")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test's report carries what its pages logged (see `open_page`)."""
    report = yield
    log = item.stash.get(BROWSER_LOG, None)
    if report.failed and log:
        report.sections.append(("browser log", "\n".join(log)))
    return report


Listen = Callable[[Page, str, Callable[..., Any]], None]


def _on(page: Page, event: str, listener: Callable[..., Any]) -> None:
    page.on(event, listener)  # type: ignore[call-overload]


def keep_log(page: Page, role: str, log: list[str], listen: Listen = _on) -> None:
    """Record `page`'s console messages, failed requests and error answers in `log` (a failed
    test's report shows it: `BROWSER_LOG`)."""
    start = time.monotonic()

    def note(text: str) -> None:
        log.append(f"{time.monotonic() - start:7.2f} {role}: {text}")

    listen(page, "console", lambda message: note(f"console {message.type}: {message.text}"))
    listen(page, "requestfailed", lambda r: note(f"failed {r.method} {r.url}: {r.failure}"))
    listen(
        page,
        "response",
        lambda r: note(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None,
    )
    listen(page, "load", lambda p: note(f"loaded {p.url}"))


@pytest.fixture
async def open_page(
    browser: Browser, shared_browsers: SharedBrowsers, request: pytest.FixtureRequest
) -> AsyncIterator[PageFactory]:
    """Factory: `await open_page(server, "officer")` → a page signed in as a new account.

    The page is a tab kept from an earlier test where one fits (`TabPool`), else a new
    context's. It signs in as the sign-in page's script does, without loading that page (its
    own tests are in test_sign_in_redirect.py and test_identity_pages.py). Uncaught script
    errors and Content-Security-Policy violations on any page fail the test; a failed test's
    report shows each page's console, failed requests and error answers.
    """
    errors: list[str] = []
    log = request.node.stash.setdefault(BROWSER_LOG, [])
    tabs = shared_browsers.tabs

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
        page = await tabs.lend(
            on or browser,
            str(server.make_url("")).rstrip("/"),
            viewport=viewport or (PHONE if role == "officer" else LAPTOP),
            permissions=list(permissions),
            geolocation=geolocation,
        )
        keep_log(page, role, log, tabs.listen)
        tabs.listen(page, "pageerror", lambda error: errors.append(f"{role}: {error}"))
        tabs.listen(
            page,
            "console",
            lambda message: (
                errors.append(f"{role}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        await sign_in_by_api(page, user.username)
        await page.goto(HOME[role])
        return page

    yield factory
    assert not errors, f"script errors in the pages: {errors}"


@pytest.fixture
def blank_page(browser: Browser, shared_browsers: SharedBrowsers) -> PageFactory:
    """Factory: `await blank_page(server)` → a page on `about:blank`, signed in as nobody, with
    `server` as its base URL: a kept tab where one fits (`TabPool`)."""

    async def factory(
        server: TestServer, *, viewport: ViewportSize = LAPTOP, permissions: tuple[str, ...] = ()
    ) -> Page:
        return await shared_browsers.tabs.lend(
            browser,
            str(server.make_url("")).rstrip("/"),
            viewport=viewport,
            permissions=list(permissions),
            geolocation=None,
        )

    return factory


async def sign_in_by_api(page: Page, username: str) -> None:
    """Sign `page`'s context in as `username` through the login route, as the sign-in page's
    script does (the session cookie lands in the context)."""
    answer = await page.request.post(
        "/api/v1/login", data={"username": username, "password": PASSWORD}
    )
    assert answer.ok, await answer.text()


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


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


async def my_requests(page: Page) -> list[dict[str, Any]]:
    """The officer's requests, read over REST with the page's own session."""
    requests: list[dict[str, Any]] = await page.evaluate(MY_REQUESTS)
    return requests


async def assert_accessible(page: Page, state: str) -> None:
    """Fail with the state's name and the violations when axe finds serious ones."""
    found = await violations(page)
    assert not found, (state, found)


ADVICE = "Stay with her until the crisis team arrives; they will phone you within the hour."


async def outcome_form_ready(clinician: Page) -> None:
    """Wait until the session page has wired its outcome form (it loads after the call)."""
    await clinician.locator('[data-testid="outcome-form"][data-ready="true"]').wait_for()


async def fill_for_review(clinician: Page) -> None:
    """Fill the outcome form (code C, urgent face-to-face referral) up to its review step."""
    await outcome_form_ready(clinician)
    await clinician.get_by_test_id("outcome-triage-code").select_option("C")
    assert "24 hours" in (await clinician.get_by_test_id("response-target").text_content() or "")
    assert await clinician.get_by_test_id("referral-fields").is_hidden()
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "urgent_face_to_face"
    )
    await clinician.get_by_test_id("referral-fields").wait_for()
    await clinician.get_by_test_id("risk-to_self").select_option("moderate")
    await clinician.get_by_test_id("risk-to_others").select_option("none")
    await clinician.get_by_test_id("outcome-summary").fill("Ideation without plan; safety plan.")
    await clinician.get_by_test_id("outcome-advice-input").fill(ADVICE)
    await clinician.get_by_test_id("officer-can-leave-yes").check()
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()  # the server checked it


async def accepted_session(server: TestServer, open_page: PageFactory) -> tuple[Page, Page]:
    """An officer's request accepted by a clinician, both on the session page (text mode)."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await go_available(clinician)
    await fill_request(officer, mode="text")
    await clinician.get_by_test_id("queue-item").wait_for()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await outcome_form_ready(clinician)
    return officer, clinician


MY_REQUESTS = """async () => (await (await fetch('/api/v1/requests?scope=mine')).json()).requests"""


AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  document.body.dataset.axeRules = String(result.passes.length + result.violations.length);
  return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target) }));
}"""


async def violations(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical axe-core violations as it is now."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated over the DevTools protocol: a script tag would be inline and the pages'
        # CSP (script-src 'self') rightly blocks it.
        await page.evaluate(AXE.read_text() + "\n;0")
        assert await page.evaluate("axe.version") == "4.10.3"
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
    assert int(await page.evaluate("document.body.dataset.axeRules")) > 10  # axe really ran
    return found


async def officer_with_outcome(
    server: TestServer, open_page: PageFactory, clinician: ApiClient
) -> Page:
    """An officer's page (360 px phone) on a session whose outcome `clinician` filed over the
    API: the outcome and the feedback form are showing."""
    officer = await open_page(server, "officer")
    # Off the officer page while the request moves on: that page goes to the session by itself
    # when it hears, which would interrupt the navigation below.
    await officer.goto("about:blank")
    csrf = (await (await officer.request.get("/api/v1/me")).json())["csrf_token"]
    created = await officer.request.post(
        "/api/v1/requests", data=REQUEST_FORM, headers={"X-CSRF-Token": csrf}
    )
    request_id = (await created.json())["id"]
    await accept(clinician, request_id)
    status, _ = await clinician.post(f"/api/v1/requests/{request_id}/outcome", OUTCOME_FORM)
    assert status == 201
    await officer.goto(f"/session/{request_id}")
    await officer.get_by_test_id("feedback-form").wait_for()
    return officer


async def end_sign_in(server: TestServer, user_id: str | None) -> None:
    """End every sign-in of the user on the server, as an idle timeout would."""
    store = server.app[STORE]
    async for key in store.client.scan_iter(match=store.keys("sess:*")):
        if json.loads(await store.client.get(key) or "{}").get("id") == user_id:
            await store.client.delete(key)


LIVE_REGIONS = """() => [...document.querySelectorAll(
    '[aria-live], [role=status], [role=alert], [role=log], [role=timer]')]
  .map((region) => ({
    id: region.id || region.dataset.testid || region.className,
    name: region.getAttribute('aria-label') || region.getAttribute('aria-labelledby'),
    hasClock: !!region.querySelector('#call-timer, #waited, .waited')
      || ['call-timer', 'waited'].includes(region.id),
  }))"""


async def live_regions(page: Page) -> list[dict[str, Any]]:
    """Every live region of the page: its id, its accessible name and whether it holds a clock."""
    found: list[dict[str, Any]] = await page.evaluate(LIVE_REGIONS)
    return found
