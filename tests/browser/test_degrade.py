"""Degrade, never fail: a refused camera or microphone takes the call to audio or text."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from .conftest import PageFactory, assert_accessible, chat, request_and_accept, wait_state

REMOTE_AUDIO = """() => {
  const stream = document.querySelector('[data-testid="remote-video"]').srcObject;
  return !!stream && stream.getAudioTracks().some((t) => t.readyState === 'live');
}"""


async def in_mode(page: Page, mode: str) -> None:
    """Wait until the session page is in `mode` (its button pressed)."""
    await page.locator(f"#session.mode-{mode}").wait_for(state="attached")
    assert await page.get_by_test_id(f"mode-{mode}").get_attribute("aria-pressed") == "true"


async def test_refused_camera_takes_the_call_to_audio(
    server: TestServer, open_page: PageFactory, strict_browser: Browser
) -> None:
    """With the officer's camera refused (microphone allowed), both sides go to audio by
    themselves, connect with the other's sound arriving, say why, and chat still works."""
    officer = await open_page(server, "officer", on=strict_browser, permissions=("microphone",))
    clinician = await open_page(server, "clinician")
    await request_and_accept(officer, clinician)
    for page in (officer, clinician):
        await in_mode(page, "audio")
        await wait_state(page, "connected")
        await page.wait_for_function(REMOTE_AUDIO)
    notice = await officer.get_by_test_id("call-notice").text_content() or ""
    assert "Camera not available" in notice and "audio" in notice
    await chat(officer, clinician, "No camera here, can you hear me?")
    await chat(clinician, officer, "Yes, loud and clear.")


async def test_refused_camera_and_microphone_leave_text_chat(
    server: TestServer, open_page: PageFactory, strict_browser: Browser
) -> None:
    """With camera and microphone both refused the call becomes text chat for both sides; the
    state shows the chat link connected and messages cross both ways."""
    officer = await open_page(server, "officer", on=strict_browser, permissions=())
    clinician = await open_page(server, "clinician")
    await request_and_accept(officer, clinician)
    for page in (officer, clinician):
        await in_mode(page, "text")
        await wait_state(page, "connected")
    notice = await officer.get_by_test_id("call-notice").text_content() or ""
    assert "text chat" in notice
    assert "Text chat only" in (await clinician.get_by_test_id("stage-note").text_content() or "")
    await chat(officer, clinician, "Typing from the scene.")
    await chat(clinician, officer, "Understood, keep typing.")


async def test_refused_camera_says_how_to_allow_it_and_retry_brings_video(
    server: TestServer, open_page: PageFactory, strict_browser: Browser
) -> None:
    """With the officer's camera refused, the page says the camera is blocked and how to allow
    it in this browser, with Retry; pressing Video again (still refused) says it is still
    blocked instead of doing nothing; once allowed, Retry brings both sides to video."""
    officer = await open_page(server, "officer", on=strict_browser, permissions=("microphone",))
    clinician = await open_page(server, "clinician")
    await request_and_accept(officer, clinician)
    await in_mode(officer, "audio")
    help_ = officer.get_by_test_id("camera-help")
    await help_.wait_for()
    assert "Camera is blocked for this page" in (await help_.text_content() or "")
    how = await officer.get_by_test_id("camera-help-how").text_content() or ""
    assert "set Camera to Allow" in how and "Retry" in how, how
    await assert_accessible(officer, "camera blocked, with how to allow it")
    await officer.get_by_test_id("mode-video").click()
    await officer.locator('[data-testid=camera-help][data-refusals="2"]').wait_for()
    assert "still blocked" in (await help_.text_content() or "")
    await in_mode(officer, "audio")
    origin = str(server.make_url("")).rstrip("/")
    await officer.context.grant_permissions(["camera", "microphone"], origin=origin)
    await officer.get_by_test_id("camera-retry").click()
    for page in (officer, clinician):
        await in_mode(page, "video")
    await help_.wait_for(state="hidden")
