"""axe-core on every page and state a user can reach: no serious or critical violations."""

from __future__ import annotations

from typing import Literal

from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, PASSWORD, SignInFactory, create_account, in_session, new_request
from support.alarms import raise_alarm
from triage_service.domain.codes import Role
from triage_service.web.state import STORE
from triage_tools.pages import sign_in_page

from .conftest import (
    PageFactory,
    assert_accessible,
    both_see_video,
    fill_request,
    officer_with_outcome,
)

SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")


async def test_sign_in_and_officer_pages_are_accessible(
    server: TestServer, blank_page: PageFactory, open_page: PageFactory
) -> None:
    """The sign-in page, the officer's form (light and dark, and with its errors) and the
    waiting screen with nobody on duty (its phone fallback), light and dark."""
    page = await blank_page(server)
    await page.goto("/")
    await assert_accessible(page, "sign-in")
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
    await officer.get_by_test_id("fallback-phone").wait_for()  # nobody on duty: the phone line
    await assert_accessible(officer, "officer waiting, nobody on duty")
    await officer.emulate_media(color_scheme="dark")
    await assert_accessible(officer, "officer waiting, nobody on duty, dark theme")


async def test_console_and_session_pages_are_accessible(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """The console empty and with a queue (its priority chips and risk flags dark too), the
    session in video and in text for both sides, and the outcome tab."""
    clinician = await open_page(server, "clinician")
    await clinician.get_by_test_id("queue-empty").wait_for()
    await assert_accessible(clinician, "console empty")
    officer = await open_page(server, "officer")
    await fill_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
    await assert_accessible(clinician, "console with a queue")
    other = await sign_in("officer")
    urgent = await new_request(other, screening={"cssrs": {"q1": True, "q4": True}})
    await clinician.get_by_test_id("queue-risk").filter(has_text="imminent").wait_for()
    await clinician.emulate_media(color_scheme="dark")
    await assert_accessible(clinician, "console with priority 1 and 2 chips, dark theme")
    await clinician.emulate_media(color_scheme="light")
    assert (await other.post(f"/api/v1/requests/{urgent['id']}/cancel", None))[0] == 200
    await (
        clinician.get_by_test_id("queue-risk")
        .filter(has_text="imminent")
        .wait_for(state="detached")
    )
    await clinician.emulate_media(color_scheme="light")
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


async def test_supervisor_dashboard_is_accessible(
    server: TestServer, blank_page: PageFactory
) -> None:
    """The supervisor's dashboard with its live figures drawn, light and dark (the alarm
    list with alarms: tests/browser/test_alarm_list.py)."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page = await blank_page(server)
    await sign_in_page(page, user.username, PASSWORD, "supervisor")
    await page.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    await assert_accessible(page, "supervisor")
    await page.emulate_media(color_scheme="dark")
    await assert_accessible(page, "supervisor, dark theme")


async def test_board_report_is_accessible(server: TestServer, blank_page: PageFactory) -> None:
    """The monthly board report page, on screen and in print media."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page = await blank_page(server)
    await sign_in_page(page, user.username, PASSWORD, "supervisor")
    await page.goto("/reports/default/2026-03")
    await assert_accessible(page, "report")
    await page.emulate_media(media="print")
    await assert_accessible(page, "report printed")


async def test_alarm_list_and_a_request_page_are_accessible(
    server: TestServer, open_page: PageFactory
) -> None:
    """The dashboard with critical and warning alarms of two causes and one acknowledged
    (its history open), and a request's read-only page; light and dark."""
    store = server.app[STORE]
    for kind, level, minutes in (
        ("expired", "critical", 12),
        ("referral_declined", "warning", 40),
        ("referral_declined", "critical", 3),
    ):
        await raise_alarm(store, kind, level, minutes)
    officer = await open_page(server, "officer")
    await fill_request(officer)
    page = await open_page(server, "supervisor")
    await page.locator("#alarm-list > li:nth-child(3)").wait_for()
    await page.locator("#alarm-list .alarm-note").first.fill("Seen")
    await page.locator("#alarm-list [data-testid=alarm-ack]").first.click()
    await page.get_by_test_id("alarm-history-list").locator("li").first.wait_for(state="attached")
    await page.get_by_test_id("alarm-history").locator("summary").click()
    for scheme in SCHEMES:
        await page.emulate_media(color_scheme=scheme)
        await assert_accessible(page, f"alarm list and history, {scheme}")
    link = page.get_by_test_id("sup-request-link").first
    await link.wait_for()
    await link.click()
    await page.get_by_test_id("sup-request-page").wait_for()
    for scheme in SCHEMES:
        await page.emulate_media(color_scheme=scheme)
        await assert_accessible(page, f"a request, read-only, {scheme}")


async def test_team_inbox_with_a_new_referral_is_accessible(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """The team inbox empty, then as an urgency-B referral arrives live (marked New), light
    and dark."""
    page = await open_page(server, "receiver", team="crisis_team:default")
    await page.get_by_test_id("inbox-empty").wait_for()
    await assert_accessible(page, "team inbox, empty")
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    body = {**OUTCOME_FORM, "referral": {"service": "crisis_team", "urgency": "B"}}
    assert (await clinician.post(f"/api/v1/requests/{request['id']}/outcome", body))[0] == 201
    await page.get_by_test_id("inbox-new").wait_for()
    for scheme in SCHEMES:
        await page.emulate_media(color_scheme=scheme)
        await assert_accessible(page, f"team inbox with a new referral, {scheme}")


async def test_officer_rating_is_accessible(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """The officer's outcome with its 1-5 rating buttons, light and dark, one chosen."""
    officer = await officer_with_outcome(server, open_page, await sign_in("clinician"))
    await assert_accessible(officer, "officer rating")
    await officer.get_by_test_id("feedback-rating").locator("label").nth(3).click()
    await officer.emulate_media(color_scheme="dark")
    await assert_accessible(officer, "officer rating, dark theme")
