"""The officer's phone screens, second pass: the rating as one row of large buttons, the
waiting screen's in-place sign-in and its offline banner, and a read that never answers."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Route

from conftest import PASSWORD, SignInFactory

from .conftest import (
    PHONE,
    PageFactory,
    assert_accessible,
    end_sign_in,
    fill_request,
    live_regions,
    officer_with_outcome,
)

ROW = """() => [...document.querySelectorAll('[data-testid=feedback-rating] label')].map((l) => {
  const box = l.getBoundingClientRect();
  return { top: Math.round(box.top), width: box.width, height: box.height, text: l.innerText };
})"""


async def test_rating_is_one_row_of_large_buttons_usable_by_keyboard(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """On a 360 px phone the 1-5 rating is one row of five buttons at least 44 px square, each
    number with its words; arrow keys move the choice, and the chosen rating is sent."""
    officer = await officer_with_outcome(server, open_page, await sign_in("clinician"))
    assert officer.viewport_size == PHONE
    buttons = await officer.evaluate(ROW)
    assert len(buttons) == 5 and len({b["top"] for b in buttons}) == 1, buttons
    assert all(b["width"] >= 44 and b["height"] >= 44 for b in buttons), buttons
    assert buttons[0]["text"].split() == ["1", "not", "useful"], buttons
    assert buttons[4]["text"].split() == ["5", "very", "useful"], buttons
    assert await officer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await officer.get_by_test_id("feedback-rating").locator("label").nth(2).click()
    assert await officer.get_by_test_id("feedback-useful-3").is_checked()
    await officer.keyboard.press("ArrowRight")
    assert await officer.get_by_test_id("feedback-useful-4").is_checked()
    checked = officer.locator("[data-testid=feedback-rating] label:has(input:checked)")
    assert (await checked.inner_text()).split()[0] == "4"
    await officer.get_by_test_id("feedback-submit").click()
    await officer.get_by_test_id("feedback-thanks").wait_for()


@pytest.mark.settings(ws_session_check_s=0.5)
async def test_waiting_officer_signs_in_again_in_place(
    server: TestServer, open_page: PageFactory
) -> None:
    """A waiting officer whose sign-in lapses is asked for the password in a dialog on the
    waiting screen (not sent to a bare sign-in page); signed in, the screen is still there,
    live again, and cancelling works with the new session."""
    officer = await open_page(server, "officer")
    await fill_request(officer, incident_ref="PS-LAPSE")
    await officer.locator("#live-status").filter(has_text="live").wait_for()
    url = officer.url
    await end_sign_in(server, await officer.get_attribute('meta[name="user-id"]', "content"))
    dialog = officer.get_by_test_id("resignin-dialog")
    await dialog.wait_for(timeout=20000)
    assert officer.url == url and await officer.get_by_test_id("waiting").is_visible()
    username = await officer.get_by_test_id("resignin-username").input_value()
    assert username  # known from the page
    await officer.get_by_test_id("resignin-password").fill(PASSWORD)
    await officer.get_by_test_id("resignin-submit").click()
    await dialog.wait_for(state="detached")
    await officer.locator("#live-status").filter(has_text="live").wait_for()
    assert "PS-LAPSE" in (await officer.get_by_test_id("waiting").text_content() or "")
    await officer.get_by_test_id("cancel-request").click()
    await officer.get_by_test_id("cancel-confirm").click()
    await officer.get_by_test_id("ended-title").filter(has_text="cancelled").wait_for()


async def test_waiting_officer_is_told_when_the_signal_goes(
    server: TestServer, open_page: PageFactory
) -> None:
    """Offline while waiting, the officer sees a "No signal" banner saying the request is still
    queued, with the phone line; back online it goes and the page is live again."""
    officer = await open_page(server, "officer")
    await fill_request(officer)
    banner = officer.get_by_test_id("offline-banner")
    await officer.locator("#live-status").filter(has_text="live").wait_for()
    assert await banner.is_hidden()
    await officer.context.set_offline(True)
    await banner.wait_for()
    assert "still in the queue" in (await banner.text_content() or "")
    await officer.emulate_media(color_scheme="dark")
    await assert_accessible(officer, "officer waiting, offline, dark theme")
    regions = await live_regions(officer)
    assert all(r["name"] for r in regions) and not any(r["hasClock"] for r in regions), regions
    await officer.context.set_offline(False)
    await banner.wait_for(state="hidden")
    await officer.locator("#live-status").filter(has_text="live").wait_for()


async def test_a_read_that_never_answers_leaves_the_officer_the_form(
    server: TestServer, open_page: PageFactory
) -> None:
    """One bar of signal: the page's read of the officer's requests never answers (held here
    in the browser); the page gives it up after 15 s as a dead connection and shows the form,
    rather than leaving the officer before a blank page."""
    officer = await open_page(server, "officer")
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)  # neither answered nor refused

    await officer.route("**/api/v1/requests?*", hold)
    await officer.clock.install()
    await officer.reload()
    form = officer.get_by_test_id("request-form")
    assert await form.is_hidden() and held
    await officer.clock.fast_forward(14_000)
    assert await form.is_hidden(), "given up before 15 s"
    await officer.clock.fast_forward(1_500)
    await form.wait_for(timeout=5000)
    await officer.get_by_test_id("incident-ref").fill("PS-ONE-BAR")
