"""The monthly board report in Chromium: opened from the dashboard, printable, its PDF; and
the officer's answer that feeds its estimates."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from conftest import PASSWORD, SignInFactory, create_account
from triage_service.domain.codes import Role
from triage_service.domain.times import wall_clock_ms
from triage_service.report.month import last_month
from triage_service.web.state import SETTINGS, STORE
from triage_tools.pages import sign_in_page

from .conftest import PageFactory, officer_with_outcome


async def test_supervisor_opens_last_months_report_prints_it_and_gets_the_pdf(
    server: TestServer, blank_page: PageFactory
) -> None:
    """From the dashboard a supervisor opens last month's report of their board: it loads
    with no script and no CSP complaint, print media hides the on-screen links, and its PDF
    link answers a PDF."""
    user = await create_account(server.app, Role.SUPERVISOR)
    board = server.app[SETTINGS].areas.boards[0]
    month = last_month(wall_clock_ms(), board.zone)
    page = await blank_page(server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    await sign_in_page(page, user.username, PASSWORD, "supervisor")
    await page.get_by_test_id(f"sup-report-{board.id}").click()
    await page.wait_for_url(f"**/reports/{board.id}/{month}")
    report = page.get_by_test_id("report")
    assert await report.get_attribute("data-month") == str(month)
    assert await page.locator("script").count() == 0
    assert await page.locator("svg").count() >= 2
    link = page.get_by_test_id("report-pdf")
    assert await link.is_visible()
    await page.emulate_media(media="print")
    assert not await link.is_visible()
    pdf = await page.request.get(str(await link.get_attribute("href")))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF-")
    assert not errors, errors


async def test_officer_says_what_they_would_otherwise_have_done(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """After the outcome the officer's feedback form asks what they would most likely have
    done without the assessment; the answer chosen is kept with the rating."""
    officer = await officer_with_outcome(server, open_page, await sign_in("clinician"))
    request_id = officer.url.rsplit("/", 1)[1]
    await officer.get_by_test_id("feedback-useful-4").check()
    await officer.get_by_test_id("feedback-counterfactual").select_option("ed_conveyance")
    await officer.get_by_test_id("feedback-submit").click()
    await officer.get_by_test_id("feedback-thanks").wait_for()
    store = server.app[STORE]
    kept = await store.client.hmget(store.keys.request(request_id), ["useful", "counterfactual"])
    assert kept == ["4", "ed_conveyance"]
