"""axe-core on every page and state a user can reach: no serious or critical violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from conftest import PASSWORD, create_account
from triage_service.domain.codes import Role

from .conftest import LAPTOP, PageFactory, both_see_video, fill_request

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


async def assert_accessible(page: Page, state: str) -> None:
    """Fail with the state's name and the violations when axe finds serious ones."""
    found = await violations(page)
    assert not found, (state, found)


async def test_sign_in_and_officer_pages_are_accessible(
    server: TestServer, browser: Browser, open_page: PageFactory
) -> None:
    """The sign-in page, the officer's form (light and dark, and with its errors) and the
    waiting screen."""
    context = await browser.new_context(base_url=str(server.make_url("")).rstrip("/"))
    page = await context.new_page()
    await page.goto("/")
    await assert_accessible(page, "sign-in")
    await context.close()
    officer = await open_page(server, "officer")
    await officer.get_by_test_id("request-form").wait_for()
    await assert_accessible(officer, "officer form")
    await officer.emulate_media(color_scheme="dark")
    assert await officer.evaluate("getComputedStyle(document.body).colorScheme") == "dark"
    await assert_accessible(officer, "officer form, dark theme")
    await officer.emulate_media(color_scheme="light")
    await officer.get_by_test_id("request-submit").click()
    await officer.locator("[data-error-for=incident_ref]").wait_for()
    await assert_accessible(officer, "officer form with errors")
    await officer.reload()
    await fill_request(officer)
    await assert_accessible(officer, "officer waiting")


async def test_console_and_session_pages_are_accessible(
    server: TestServer, open_page: PageFactory
) -> None:
    """The console empty and with a queue, the session in video and in text for both sides,
    and the outcome tab."""
    clinician = await open_page(server, "clinician")
    await clinician.get_by_test_id("queue-empty").wait_for()
    await assert_accessible(clinician, "console empty")
    officer = await open_page(server, "officer")
    await fill_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
    await assert_accessible(clinician, "console with a queue")
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")
    await both_see_video(officer, clinician)
    await assert_accessible(clinician, "session video, clinician")
    await assert_accessible(officer, "session video, officer")
    await clinician.get_by_test_id("tab-outcome").click()
    await assert_accessible(clinician, "outcome form")
    await clinician.get_by_test_id("mode-text").click()
    for page in (officer, clinician):
        await page.get_by_test_id("call-mode").filter(has_text="text").wait_for()
    await assert_accessible(clinician, "session text, clinician")
    await assert_accessible(officer, "session text, officer")


async def test_supervisor_dashboard_is_accessible(server: TestServer, browser: Browser) -> None:
    """The supervisor's dashboard with its live figures drawn."""
    user = await create_account(server.app, Role.SUPERVISOR)
    context = await browser.new_context(
        base_url=str(server.make_url("")).rstrip("/"), viewport=LAPTOP
    )
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_test_id("login-username").fill(user.username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/supervisor")
    await page.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    await assert_accessible(page, "supervisor")
    await context.close()
