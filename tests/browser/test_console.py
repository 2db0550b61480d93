"""The clinician's console: losing a race politely, take next and resume, referrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, WebSocketRoute

from conftest import OUTCOME_FORM, PASSWORD, REQUEST_FORM, SignInFactory, new_request
from triage_service.domain.times import wall_clock_ms

from .conftest import (
    PageFactory,
    end_sign_in,
    fill_request,
    go_available,
    live_regions,
    request_and_accept,
)

H = 3_600_000


class ShiftedClock:
    """The wall clock moved by `offset_ms` (0, the wall clock itself, unless a test moves it)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms


@pytest.fixture(name="clock")
def shifted_clock() -> ShiftedClock:
    """A clock on wall time that a test may set back."""
    return ShiftedClock()


async def post_from(page: Page, path: str, body: Any) -> int:
    """POST `body` from the page's own signed-in session (its CSRF token); the status."""
    status: int = await page.evaluate(
        """async ([path, body]) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const response = await fetch(path, {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: body === null ? undefined : JSON.stringify(body)});
          return response.status;
        }""",
        [path, body],
    )
    return status


async def no_live_channel(ws: WebSocketRoute) -> None:
    """Accept the page's /ws but connect it to nothing: the page hears no live events."""


async def test_accept_lost_to_another_clinician_says_so(
    server: TestServer, open_page: PageFactory
) -> None:
    """A clinician whose queue is stale and who accepts a request another clinician already
    took is told someone else took it, and the queue is refreshed."""
    quick = await open_page(server, "clinician")
    slow = await open_page(server, "clinician")
    await slow.route_web_socket("**/ws", no_live_channel)
    officer = await open_page(server, "officer")
    await fill_request(officer)
    await slow.reload()
    await slow.get_by_test_id("queue-item").wait_for()
    await quick.get_by_test_id("accept-request").click()
    await quick.wait_for_url("**/session/*")

    await slow.get_by_test_id("accept-request").click()
    message = slow.get_by_test_id("queue-message")
    await message.filter(has_text="Someone else took it").wait_for()
    await slow.get_by_test_id("queue-empty").wait_for()
    assert slow.url.endswith("/console")


async def test_take_next_then_resume_from_the_console(
    server: TestServer, open_page: PageFactory
) -> None:
    """Take next accepts the first in service order; back on the console the call in progress
    can be resumed."""
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    officer = await open_page(server, "officer")
    await fill_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
    await clinician.get_by_test_id("take-next").click()
    await clinician.wait_for_url("**/session/*")
    session_url = clinician.url
    await clinician.goto("/console")
    await clinician.get_by_test_id("resume-session").click()
    await clinician.wait_for_url(session_url)
    assert await clinician.get_by_test_id("availability-status").count() == 0


async def test_referrals_show_overdue_and_take_status_updates(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory, clock: ShiftedClock
) -> None:
    """An overdue referral is listed with its due time and highlighted; marking it completed
    takes it off the open list and the full list shows it completed."""
    # Only the clinician who filed a referral sees it: the console's own account files it.
    clinician = await open_page(server, "clinician")
    clock.offset_ms = -3 * H  # filed three hours ago, due an hour after that
    officer = await sign_in("officer")
    status, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    assert status == 201
    assert await post_from(clinician, f"/api/v1/requests/{created['id']}/accept", None) == 200
    due = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    outcome = {**OUTCOME_FORM, "referral": {**OUTCOME_FORM["referral"], "due_at": due}}
    filed = await post_from(clinician, f"/api/v1/requests/{created['id']}/outcome", outcome)
    assert filed == 201
    clock.offset_ms = 0
    await clinician.reload()
    item = clinician.get_by_test_id("referral-item")
    await item.wait_for()
    assert "overdue" in (await item.get_attribute("class") or "")
    text = await item.text_content() or ""
    assert "Crisis team" in text and "Due" in text and "overdue by" in text
    assert "Team: crisis_team:default" in text
    await item.locator("select").select_option("completed")
    await item.locator("input[name=note]").fill("Seen at home by the crisis team.")
    await item.get_by_role("button", name="Update").click()
    await clinician.locator("#referral-empty").wait_for()
    await clinician.get_by_test_id("referral-scope").select_option("all")
    await item.filter(has_text="Completed").wait_for()


async def test_release_puts_the_request_back_and_the_officer_waits_again(
    server: TestServer, open_page: PageFactory
) -> None:
    """Releasing from the session page returns the clinician to the console with the request
    back in the queue, and takes the officer back to the waiting screen."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await request_and_accept(officer, clinician)
    await clinician.get_by_test_id("release-reason").fill("Needs a Gaelic speaker.")
    await clinician.get_by_test_id("release").click()
    await clinician.wait_for_url("**/console")
    await clinician.get_by_test_id("queue-item").wait_for()
    await officer.wait_for_url("**/officer")
    await officer.get_by_test_id("waiting").wait_for()


async def test_queue_card_shows_risk_place_reference_and_a_ticking_wait(
    server: TestServer, open_page: PageFactory
) -> None:
    """A queue card shows the C-SSRS flag, the place the officer typed, the incident reference
    and a waited time that moves on every second."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await fill_request(officer)  # yes to q2: suicidal ideation
    item = clinician.get_by_test_id("queue-item")
    await item.wait_for()
    assert await item.get_by_test_id("queue-risk").text_content() == "C-SSRS: suicidal ideation"
    place = await item.get_by_test_id("queue-place").text_content()
    assert place == "Bus station, Buchanan St · Glasgow City Centre"
    assert "PS-20261126-0042" in (await item.text_content() or "")
    waited = await item.get_by_test_id("queue-waited").text_content()
    await clinician.wait_for_function(
        "(t) => document.querySelector('[data-testid=queue-waited]').textContent !== t",
        arg=waited,
        timeout=2500,
    )


async def test_going_available_sounds_for_a_priority_1_already_waiting(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """A clinician going available hears no tone for a priority-2 request already waiting,
    but does for a priority-1 one that arrived while they were offline."""
    clinician = await open_page(server, "clinician")
    officer = await sign_in("officer")
    await new_request(officer, urgency="urgent")
    await clinician.get_by_test_id("queue-item").wait_for()
    await go_available(clinician)
    console = clinician.locator("#console")
    assert await console.get_attribute("data-alerts") is None
    await clinician.get_by_test_id("availability-toggle").click()
    await clinician.get_by_test_id("availability-status").filter(has_text="offline").wait_for()
    urgent = await new_request(await sign_in("officer"), urgency="immediate")
    assert urgent["priority"] == 1
    await clinician.get_by_test_id("queue-item").nth(1).wait_for()
    assert await console.get_attribute("data-alerts") is None  # offline: no tone
    await go_available(clinician)
    await clinician.locator('#console[data-alerts="1"]').wait_for()
    arrivals = await clinician.get_by_test_id("arrivals").text_content() or ""
    assert arrivals.startswith("Priority 1 waiting: priority 1, Immediate"), arrivals
    regions = await live_regions(clinician)  # named, and none ticks with the waits
    assert all(r["name"] for r in regions) and not any(r["hasClock"] for r in regions), regions


@pytest.mark.settings(ws_session_check_s=0.5)
async def test_lapsed_sign_in_on_the_console_is_asked_again_in_place(
    server: TestServer, open_page: PageFactory
) -> None:
    """A clinician whose sign-in lapses on the console is asked for the password in a dialog
    on the console (not sent to the sign-in page); signed in, the queue is live again."""
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    url = clinician.url
    await end_sign_in(server, await clinician.get_attribute("#console", "data-user-id"))
    dialog = clinician.get_by_test_id("resignin-dialog")
    await dialog.wait_for(timeout=20000)
    assert clinician.url == url
    assert await clinician.get_by_test_id("resignin-username").input_value()
    await clinician.get_by_test_id("resignin-password").fill(PASSWORD)
    await clinician.get_by_test_id("resignin-submit").click()
    await dialog.wait_for(state="detached")
    officer = await open_page(server, "officer")
    await fill_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
