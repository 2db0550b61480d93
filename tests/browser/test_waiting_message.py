"""A message to a waiting officer in Chromium: the console's quick preset reaches the
officer's waiting screen with a buzz."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from .conftest import PageFactory, assert_accessible, fill_request, go_available

# Counts the page's vibrations (headless Chromium has no motor, and allows one only after a
# tap): the page calls `navigator.vibrate` where it exists.
COUNT_VIBRATIONS = """
navigator.vibrate = (pattern) => {
  window.vibrations = (window.vibrations || 0) + 1;
  return true;
};
"""


async def test_console_preset_reaches_the_waiting_officer(
    server: TestServer, open_page: PageFactory
) -> None:
    """The clinician picks "about 5 minutes" for a waiting request on the console's queue;
    the officer's waiting screen shows it, from whom, with a vibration; the request still
    waits for whoever takes it."""
    clinician = await open_page(server, "clinician", display_name="Nurse Adams")
    officer = await open_page(server, "officer")
    await officer.add_init_script(COUNT_VIBRATIONS)
    await officer.reload()
    await go_available(clinician)
    await fill_request(officer)
    await officer.get_by_test_id("waiting").wait_for()
    assert await officer.get_by_test_id("waiting-message").is_hidden()

    await clinician.get_by_test_id("message-officer").click()
    await clinician.get_by_test_id("preset-5-minutes").click()
    await clinician.get_by_test_id("officer-message-send").click()
    await clinician.get_by_test_id("officer-message-status").filter(has_text="Sent").wait_for()
    await assert_accessible(clinician, "a message to a waiting officer on the console")

    message = officer.get_by_test_id("waiting-message")
    await message.wait_for()
    assert "Nurse Adams" in (await message.text_content() or "")
    text = await officer.get_by_test_id("waiting-message-text").text_content()
    assert text == "A clinician will be with you in about 5 minutes."
    await officer.wait_for_function("() => window.vibrations >= 1")
    await assert_accessible(officer, "a clinician's message on the waiting screen")
    await officer.reload()  # the message is kept with the request
    await officer.get_by_test_id("waiting-message").wait_for()
    assert await clinician.get_by_test_id("queue-item").count() == 1
