"""The safety net in the browser: the officer is never left waiting in silence, and a lapsed
sign-in during a call does not lose the outcome."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import TimeoutError as PlaywrightTimeout

from conftest import PASSWORD

from .conftest import (
    ADVICE,
    PHONE,
    PageFactory,
    end_sign_in,
    fill_for_review,
    fill_request,
    go_available,
)


async def test_nobody_on_duty_shows_the_fallback_until_a_clinician_comes_on(
    server: TestServer, open_page: PageFactory
) -> None:
    """With nobody on duty the officer sees the phone fallback at once and no estimate; when a
    clinician comes on duty (socket open and available) the page changes without a reload."""
    officer = await open_page(server, "officer")
    await fill_request(officer)
    fallback = officer.get_by_test_id("fallback")
    await fallback.wait_for()
    text = await fallback.text_content() or ""
    assert "No clinician is on duty" in text and "0800 000 0000" in text and "999" in text
    assert (await officer.get_by_test_id("queue-estimate").text_content() or "") == ""
    # A large tap-to-call button above the queue position, on the phone's first screen.
    call = await officer.get_by_test_id("fallback-phone").bounding_box()
    position = await officer.get_by_test_id("queue-position").bounding_box()
    assert call and position and call["y"] + call["height"] < position["y"], (call, position)
    assert call["y"] + call["height"] <= PHONE["height"] and call["height"] >= 48, call
    assert await officer.get_by_test_id("fallback-phone").get_attribute("href") == "tel:08000000000"
    await officer.locator("#live-status").filter(has_text="live").wait_for()
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    await fallback.wait_for(state="hidden")
    await officer.get_by_test_id("queue-estimate").filter(has_text="Estimated wait").wait_for()


async def test_lapsed_session_during_a_call_still_files_the_outcome(
    server: TestServer, open_page: PageFactory
) -> None:
    """The clinician's sign-in lapses mid-call: filing the outcome asks for the password in a
    dialog on the same page, keeps the form as filled, and files it; the officer is told they
    can leave now."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    await fill_request(officer, mode="text")
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")
    clinician_id = await clinician.get_attribute("#session", "data-user-id")
    await fill_for_review(clinician)  # the officer can leave: yes
    await end_sign_in(server, clinician_id)  # the sign-in lapses
    dialog = clinician.get_by_test_id("resignin-dialog")
    confirmed = True
    try:
        await clinician.get_by_test_id("outcome-confirm").click(timeout=5000)
    except PlaywrightTimeout:  # the live channel noticed the lapse first: the dialog is up
        confirmed = False
    await dialog.wait_for()
    assert clinician.url.endswith(officer.url.rsplit("/", 1)[1])  # still on the session page
    assert await clinician.get_by_test_id("outcome-advice-input").input_value() == ADVICE
    await clinician.get_by_test_id("resignin-password").fill(PASSWORD)
    await clinician.get_by_test_id("resignin-submit").click()
    await dialog.wait_for(state="detached")
    if not confirmed:
        await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_test_id("session-status").filter(has_text="Outcome filed").wait_for()
    await officer.get_by_test_id("officer-outcome").wait_for()
    assert await officer.get_by_test_id("outcome-advice").text_content() == ADVICE
    released = officer.get_by_test_id("officer-release")
    assert await released.get_attribute("data-released") == "true"
    assert "You can leave now" in (await released.text_content() or "")


async def test_supervisor_acknowledges_an_alarm_from_the_list(
    server: TestServer, open_page: PageFactory
) -> None:
    """A critical alarm appears live in the alarm list with its request; acknowledging it with
    a note takes it off the list."""
    supervisor = await open_page(server, "supervisor")
    officer = await open_page(server, "officer")
    await fill_request(officer)
    alarm = supervisor.get_by_test_id("alarm-list").locator("[data-alarm-id]")
    await alarm.filter(has_text="no clinician is on duty").wait_for()
    assert await alarm.get_attribute("data-level") == "critical"
    await alarm.get_by_test_id("alarm-request").click()
    await alarm.locator(".alarm-request").filter(has_text="Status waiting").wait_for()
    await alarm.get_by_test_id("alarm-note").fill("Rang the on-call manager")
    await alarm.get_by_test_id("alarm-ack").click()
    await alarm.wait_for(state="detached")


async def test_an_alarm_leaves_the_list_when_its_cause_ends(
    server: TestServer, open_page: PageFactory
) -> None:
    """A `no_clinician_on_duty` alarm shows its area and board; when the officer cancels the
    request, the alarm is resolved and leaves the supervisor's list without anyone
    acknowledging it."""
    supervisor = await open_page(server, "supervisor")
    officer = await open_page(server, "officer")
    await fill_request(officer)
    alarm = supervisor.get_by_test_id("alarm-list").locator("[data-alarm-id]")
    await alarm.filter(has_text="Default board").wait_for()
    await officer.get_by_test_id("cancel-request").click()
    await officer.get_by_test_id("cancel-confirm").click()
    await alarm.wait_for(state="detached")
