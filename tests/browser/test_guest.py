"""Guests in Chromium: a guest joins a call of four by link on a phone, with no account, sees
the call and the chat only, and the link is refused once the session has ended."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from support.participants import (
    ask_to_consult,
    make_guest_link,
    my_id,
    request_id_of,
    wait_roles,
    wait_tile_media,
    wait_tile_playing,
)

from .conftest import (
    FAKE_UI,
    NO_SIDEWAYS_SCROLL,
    PHONE,
    PageFactory,
    assert_accessible,
    chat,
    fill_for_review,
    go_available,
    request_and_accept,
    wait_state,
)

FOUR = ["officer", "clinician", "consultant", "guest"]


async def open_guest(
    blank_page: PageFactory, server: TestServer, url: str, errors: list[str]
) -> Page:
    """A phone's browser with no account opening a guest link (camera and microphone allowed)."""
    page = await blank_page(server, viewport=PHONE, permissions=("camera", "microphone"))
    page.on("pageerror", lambda error: errors.append(f"guest: {error}"))
    await page.goto(url)
    return page


async def test_a_guest_joins_a_call_of_four_by_link_on_a_phone(
    server: TestServer, blank_page: PageFactory, open_page: PageFactory
) -> None:
    """Officer, clinician, a consultant and a guest by a link made in the People panel: every
    page lists the four; the guest's phone page connects to all three others with media
    flowing both ways (video, or audio where a loaded machine stepped a pair down), fits
    360 px, passes axe, shows nothing of the record, and its chat reaches the officer."""
    assert FAKE_UI  # the shared browser (blank_page's) grants the fake camera and microphone
    errors: list[str] = []
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    consultant = await open_page(server, "clinician")
    await go_available(consultant)
    await request_and_accept(officer, clinician)
    request_id = await request_id_of(clinician)
    await ask_to_consult(clinician, request_id, consultant)
    await consultant.goto(f"/session/{request_id}")
    await clinician.get_by_test_id("tab-people").click()
    await clinician.get_by_test_id("guest-name").fill("Ana Interpreter")
    await clinician.get_by_test_id("guest-role").select_option("interpreter")
    await clinician.get_by_test_id("guest-invite").click()
    await clinician.get_by_test_id("guest-link").wait_for()  # shown once the link is made
    url = await clinician.get_by_test_id("guest-link").input_value()
    assert "/guest/" in url, url
    guest = await open_guest(blank_page, server, url, errors)
    await clinician.get_by_test_id("people-extra").get_by_text("Ana Interpreter").wait_for()
    guest_id = await guest.locator("#join").get_attribute("data-me") or ""

    for page in (officer, clinician, consultant, guest):
        await wait_roles(page, FOUR, timeout=30000)
    ids = {"officer": await my_id(officer), "clinician": await my_id(clinician),
           "consultant": await my_id(consultant)}  # fmt: skip
    for other in ids.values():
        await wait_tile_media(guest, other)
    for page in (officer, clinician, consultant):
        await wait_tile_media(page, guest_id)
    await wait_state(guest, "connected")
    assert await guest.evaluate(NO_SIDEWAYS_SCROLL)
    text = await guest.locator("main").text_content() or ""
    for secret in ("PS-20261126-0042", "Bus station", "Suicidal"):
        assert secret not in text
    await assert_accessible(guest, "guest page in a call of four")
    await chat(guest, officer, "I will interpret for her.")
    assert not errors, errors


async def test_the_link_is_refused_once_the_session_has_ended(
    server: TestServer, blank_page: PageFactory, open_page: PageFactory
) -> None:
    """A guest in the call is told when the session ends; the same link opened again (or an
    unused one) gets a clear refusal page, itself accessible."""
    errors: list[str] = []
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await request_and_accept(officer, clinician)
    request_id = await request_id_of(clinician)
    link = await make_guest_link(clinician, request_id, role="person", display_name="Her phone")
    unused = await make_guest_link(clinician, request_id)
    guest = await open_guest(blank_page, server, link["url"], errors)
    await wait_tile_playing(guest, await my_id(officer), timeout=30000)

    await clinician.get_by_test_id("tab-outcome").click()
    await fill_for_review(clinician)
    await clinician.get_by_test_id("outcome-confirm").click()
    await guest.get_by_test_id("session-status").filter(has_text="ended").wait_for()
    await guest.goto(link["url"])
    await guest.get_by_test_id("guest-refused").wait_for()
    await assert_accessible(guest, "guest link refused")
    other = await open_guest(blank_page, server, unused["url"], errors)
    reason = await other.get_by_test_id("guest-refused-reason").text_content() or ""
    assert "ended" in reason
    assert not errors, errors
