"""The supervisor's dashboard: live over /ws, pictures drawn, nothing identifying shown."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from conftest import OUTCOME_FORM, PASSWORD, REQUEST_FORM, SignInFactory, create_account
from triage_service.domain.codes import Role
from triage_service.export.csv import COLUMNS
from triage_tools.pages import sign_in_page

from .conftest import PageFactory, assert_accessible

IDENTIFYING = [
    REQUEST_FORM["incident_ref"],
    REQUEST_FORM["notes"],
    REQUEST_FORM["location"]["description"],
    REQUEST_FORM["subject"]["known_name"],
    OUTCOME_FORM["summary"],
    OUTCOME_FORM["advice_to_officer"],
]


@pytest.fixture
async def dashboard(server: TestServer, blank_page: PageFactory) -> AsyncIterator[Page]:
    """A supervisor signed in through the sign-in page, on the dashboard; page errors fail."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page = await blank_page(server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await sign_in_page(page, user.username, PASSWORD, "supervisor")
    yield page
    assert not errors, errors


async def test_dashboard_updates_live(dashboard: Page, sign_in: SignInFactory) -> None:
    """A new request shows as waiting within seconds, then as in session once accepted,
    without reloading, and no name or free text ever reaches the page; its arrival is said
    once in the named polite region, while the lists that tick are no live regions."""
    page = dashboard
    await page.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    await page.get_by_test_id("sup-waiting").filter(has_text="0").wait_for()
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    status, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    assert status == 201
    await page.get_by_test_id("sup-waiting").filter(has_text="1").wait_for(timeout=8000)
    await page.get_by_test_id("sup-alarms").get_by_text("no clinician is available").wait_for()
    announced = page.get_by_test_id("sup-announce")
    await announced.filter(has_text="New request waiting: priority 2").wait_for()
    for ticking in ("sup-requests", "sup-alarms", "alarm-list"):
        assert await page.get_by_test_id(ticking).get_attribute("aria-live") is None
    assert await announced.get_attribute("aria-label") == "Dashboard changes"
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    await page.get_by_test_id("sup-in-session").filter(has_text="1").wait_for(timeout=8000)
    await page.get_by_test_id("sup-waiting").filter(has_text="0").wait_for()
    assert await page.get_by_test_id("sup-clinicians-busy").text_content() == "1"
    await clinician.post(f"/api/v1/requests/{created['id']}/outcome", OUTCOME_FORM)
    await page.get_by_test_id("sup-in-session").filter(has_text="0").wait_for(timeout=8000)
    await page.locator("[data-testid=sup-chart-waits] svg rect.bar").first.wait_for()
    await page.locator("[data-testid=sup-chart-dispositions] svg rect.bar").first.wait_for()
    assert await page.get_by_test_id("sup-service-level").text_content() == "100%"
    await page.reload()  # the 30-day pictures are re-read every five minutes, or on load
    await page.locator("[data-testid=sup-heatmap] svg rect.heat").first.wait_for()
    await page.locator("[data-testid=sup-chart-service-level] svg circle.dot").first.wait_for()
    content = await page.content()
    for value in IDENTIFYING:
        assert value not in content


async def test_export_for_chosen_days(dashboard: Page, sign_in: SignInFactory) -> None:
    """The export form downloads the chosen days as CSV and as FHIR NDJSON under dated
    names, and says what is wrong with a period instead of downloading it."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    await clinician.post(f"/api/v1/requests/{created['id']}/outcome", OUTCOME_FORM)
    page, today = dashboard, datetime.now(UTC).date()
    await page.get_by_test_id("sup-export-from").fill(str(today))
    await page.get_by_test_id("sup-export-to").fill(str(today))
    texts = {}
    for button, extension in (("sup-export-csv", "csv"), ("sup-export-fhir", "ndjson")):
        async with page.expect_download() as info:
            await page.get_by_test_id(button).click()
        download = await info.value
        assert download.suggested_filename == f"triage-evaluation-{today}-to-{today}.{extension}"
        texts[extension] = Path(await download.path()).read_text()
    rows = texts["csv"].splitlines()
    assert rows[0] == ",".join(COLUMNS) and len(rows) == 2 and created["id"] in rows[1]
    resources = [json.loads(line) for line in texts["ndjson"].splitlines()]
    assert [r["resourceType"] for r in resources] == ["Encounter", "ServiceRequest"]
    await page.get_by_test_id("sup-export-from").fill(str(today + timedelta(days=1)))
    await page.get_by_test_id("sup-export-csv").click()
    error = page.get_by_test_id("sup-export-error")
    await error.filter(has_text="must not be before the first day").wait_for()


async def test_other_roles_are_sent_away(server: TestServer, blank_page: PageFactory) -> None:
    """A clinician opening /supervisor lands back on their own page."""
    user = await create_account(server.app, Role.CLINICIAN)
    page = await blank_page(server)
    await sign_in_page(page, user.username, PASSWORD, "clinician")
    await page.goto("/supervisor")
    assert page.url.endswith("/console")


SMALLEST_TEXT = """() => Math.min(...[...document.querySelectorAll('.plot svg text')]
  .map((t) => t.getBoundingClientRect().height).filter((h) => h > 0))"""
CUT_TEXT = """() => [...document.querySelectorAll('.plot svg text')].filter((t) => {
  const svg = t.ownerSVGElement.getBoundingClientRect();
  const box = t.getBoundingClientRect();
  return box.left < svg.left - 0.5 || box.right > svg.right + 0.5;
}).map((t) => t.textContent)"""


async def test_open_requests_list_and_readable_charts(
    server: TestServer, blank_page: PageFactory, sign_in: SignInFactory
) -> None:
    """At 1440x900 the open-request list shows a waiting request, then the same request in
    session, linked by id to its read-only page (in session, no identifying value, axe
    clean); chart text is at least 12 px, none is cut off at the edges, the
    heat map has a colour scale, an hour axis and a table of the same figures, and the
    service level says what it counts."""
    user = await create_account(server.app, Role.SUPERVISOR)
    page = await blank_page(server, viewport={"width": 1440, "height": 900})
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, done = await officer.post("/api/v1/requests", REQUEST_FORM)
    await clinician.post(f"/api/v1/requests/{done['id']}/accept")
    await clinician.post(f"/api/v1/requests/{done['id']}/outcome", OUTCOME_FORM)
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    await sign_in_page(page, user.username, PASSWORD, "supervisor")
    row = page.locator(f"[data-testid=sup-request][data-request-id='{created['id']}']")
    await row.wait_for()
    assert await row.get_attribute("data-status") == "waiting"
    link = await row.get_by_test_id("sup-request-link").get_attribute("href")
    assert link == f"/supervisor/requests/{created['id']}"
    await page.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    await page.locator(f"[data-request-id='{created['id']}'][data-status=in_session]").wait_for()

    await page.locator("[data-testid=sup-heatmap] svg rect.heat").first.wait_for()
    await page.locator("[data-testid=sup-chart-service-level] svg circle.dot").first.wait_for()
    assert await page.locator("[data-testid=heat-max]").count() == 1
    assert await page.locator("[data-testid=heat-hour]").count() == 21  # 06, 12, 18 a day
    await page.get_by_test_id("sup-heat-table").locator("summary").click()
    heat_row = page.get_by_test_id("sup-heat-rows").locator("tr").first
    assert await heat_row.locator("td").nth(7).text_content() == "2"  # both requests
    assert await page.evaluate(SMALLEST_TEXT) >= 12
    assert await page.evaluate(CUT_TEXT) == []
    explained = await page.get_by_test_id("sup-service-level-explained").text_content() or ""
    assert "of the requests answered" in explained
    content = await page.content()
    for value in IDENTIFYING:
        assert value not in content
    await row.get_by_test_id("sup-request-link").click()
    await page.wait_for_url(f"**/supervisor/requests/{created['id']}")
    status = page.get_by_test_id("sup-request-status")
    assert await status.text_content() == "in session"
    await assert_accessible(page, "a request, read-only")
    content = await page.content()
    for value in IDENTIFYING:
        assert value not in content
