"""The session page as its users hold it: the clinician's laptop and the officer's phone."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from .conftest import PageFactory, both_see_video, chat, request_and_accept, wait_playing

CONSOLE = {"width": 1366, "height": 768}

IN_VIEW = """(testid) => {
  const box = document.querySelector(`[data-testid="${testid}"]`).getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
    && box.bottom <= innerHeight && box.right <= innerWidth;
}"""


async def in_view(page: Page, testid: str) -> bool:
    """Whether the element is wholly inside the viewport as it is now (no scrolling)."""
    return bool(await page.evaluate(IN_VIEW, testid))


async def test_clinician_sees_the_person_while_writing_the_outcome(
    server: TestServer, open_page: PageFactory
) -> None:
    """At 1366x768 with the outcome tab chosen, the remote video and the outcome form's first
    field are both in the viewport, and the page itself does not scroll."""
    clinician = await open_page(server, "clinician", viewport=CONSOLE)
    officer = await open_page(server, "officer", display_name="PC Morag Reid")
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)
    await clinician.get_by_test_id("tab-outcome").click()
    assert await clinician.get_by_test_id("tab-outcome").get_attribute("aria-current") == "true"
    assert await in_view(clinician, "remote-video")
    assert await in_view(clinician, "outcome-triage-code")
    assert await clinician.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1")
    assert await clinician.get_by_test_id("peer-name").text_content() == "PC Morag Reid"
    await chat(officer, clinician, "She is calmer now.")
    assert await clinician.get_by_test_id("chat-unread").text_content() == "1"
    await clinician.get_by_test_id("tab-chat").click()
    assert await in_view(clinician, "chat-input")
    assert await clinician.get_by_test_id("chat-unread").is_hidden()


async def test_officer_phone_call_has_name_timer_chat_overlay_and_controls(
    server: TestServer, open_page: PageFactory
) -> None:
    """On a 360 px phone the officer hears the answer, sees the clinician's name and a running
    timer, the chat
    input is on screen with the video, a message buzzes, the camera flips to the rear one
    and hang-up takes the call to text while the chat stays open."""
    clinician = await open_page(server, "clinician", display_name="Dr Ana Silva")
    officer = await open_page(server, "officer")
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)
    assert await officer.get_by_test_id("peer-name").text_content() == "Dr Ana Silva"
    assert await officer.evaluate("document.body.dataset.chimed") == "answered"
    assert await officer.locator("h1").count() == 1
    first = await officer.get_by_test_id("call-timer").text_content()
    await officer.wait_for_function(
        "(t) => document.getElementById('call-timer').textContent !== t", arg=first
    )
    assert await in_view(officer, "remote-video") and await in_view(officer, "chat-input")
    await chat(clinician, officer, "Can you move somewhere quieter?")
    assert await officer.evaluate("document.body.dataset.chimed") == "message"
    log = await officer.get_by_test_id("chat-log").bounding_box()
    stage = await officer.locator(".stage").bounding_box()
    assert log and stage and log["y"] < stage["y"] + stage["height"]  # over the video

    await officer.get_by_test_id("flip-camera").click()
    await officer.get_by_text("Use front camera").wait_for()
    await wait_playing(clinician)
    await officer.get_by_test_id("hang-up").click()
    await officer.get_by_test_id("hang-up-yes").click()
    for page in (officer, clinician):
        await page.get_by_test_id("call-mode").filter(has_text="text").wait_for()
    await chat(officer, clinician, "Still here.")
