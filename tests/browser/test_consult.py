"""A call of three in Chromium: a consultant joins the officer and the clinician from their
console, media flows between every pair, and the others stay connected when one goes."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from support.participants import (
    ask_to_consult,
    call_api,
    my_id,
    request_id_of,
    wait_roles,
    wait_tile_playing,
)

from .conftest import (
    PageFactory,
    both_see_video,
    chat,
    go_available,
    request_and_accept,
    wait_playing,
    wait_state,
)


async def test_a_consultant_joins_with_media_between_all_three_and_leaves(
    server: TestServer, open_page: PageFactory
) -> None:
    """Asked from the session's People panel, a colleague on duty joins from their console: all
    three pages list three people with every connection up and video playing both ways on
    each new pair, the chat reaches the consultant; when the consultant leaves, the officer
    and the clinician list two people and their call goes on."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    consultant = await open_page(server, "clinician")
    await go_available(consultant)
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)
    request_id = await request_id_of(clinician)
    pages = {"officer": officer, "clinician": clinician, "consultant": consultant}
    ids = {name: await my_id(page) for name, page in pages.items()}

    await clinician.get_by_test_id("tab-people").click()
    colleague = clinician.get_by_test_id("consult-colleague")
    await colleague.locator(f'option[value="{ids["consultant"]}"]').wait_for(state="attached")
    await colleague.select_option(ids["consultant"])
    await clinician.get_by_test_id("consult-ask").click()
    await consultant.get_by_test_id("consult-join").click()
    await consultant.wait_for_url(f"**/session/{request_id}")

    for page in (officer, clinician, consultant):
        await wait_roles(page, ["officer", "clinician", "consultant"])
    await wait_tile_playing(consultant, ids["officer"])
    await wait_tile_playing(consultant, ids["clinician"])
    await wait_tile_playing(officer, ids["consultant"])
    await wait_tile_playing(clinician, ids["consultant"])
    await wait_state(consultant, "connected")
    await chat(officer, consultant, "Can the consultant hear me?")
    await chat(consultant, clinician, "Yes, I can see and hear you both.")

    await consultant.get_by_test_id("leave-call").click()
    await consultant.get_by_test_id("session-status").filter(has_text="left").wait_for()
    for page in (officer, clinician):
        await wait_roles(page, ["officer", "clinician"])
        await wait_state(page, "connected")
        await wait_playing(page)


async def test_one_page_closing_leaves_the_other_two_connected(
    server: TestServer, open_page: PageFactory
) -> None:
    """In a call of three, the officer closing their page leaves the clinician and the
    consultant connected to each other with video playing."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    consultant = await open_page(server, "clinician")
    await go_available(consultant)
    await request_and_accept(officer, clinician)
    request_id = await request_id_of(clinician)
    consultant_id, clinician_id = await my_id(consultant), await my_id(clinician)
    asked = await call_api(
        clinician, "POST", f"/api/v1/requests/{request_id}/consult", {"to": consultant_id}
    )
    assert asked["status"] == 201, asked
    await consultant.goto(f"/session/{request_id}")
    await wait_tile_playing(clinician, consultant_id)
    await wait_tile_playing(consultant, clinician_id)

    await officer.close()
    await clinician.wait_for_function(  # the officer's connection is gone
        "() => document.querySelector('[data-testid=\"connection-state\"]')"
        "?.textContent !== 'connected'"
    )
    for _ in range(3):  # still up and playing a while later
        await wait_tile_playing(clinician, consultant_id)
        await wait_tile_playing(consultant, clinician_id)


TILE_AUDIO = """(id) => {
  const tile = document.querySelector(`[data-testid="participants"] [data-participant-id="${id}"]`);
  const stream = tile?.querySelector('video')?.srcObject;
  return tile?.dataset.state === 'connected' && tile.dataset.mode === 'audio' && !!stream
    && stream.getAudioTracks().some((t) => t.readyState === 'live');
}"""


async def test_a_consultant_without_a_camera_joins_by_audio_and_the_others_keep_video(
    server: TestServer, open_page: PageFactory, strict_browser: Browser
) -> None:
    """A consultant whose camera is refused steps their own connections down to audio, as a
    call of two does, with their sound reaching both others; the officer and the clinician
    keep video between them."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    consultant = await open_page(
        server, "clinician", on=strict_browser, permissions=("microphone",)
    )
    await go_available(consultant)
    await request_and_accept(officer, clinician)
    request_id = await request_id_of(clinician)
    consultant_id = await ask_to_consult(clinician, request_id, consultant)
    await consultant.goto(f"/session/{request_id}")
    for page in (officer, clinician):
        await page.wait_for_function(TILE_AUDIO, arg=consultant_id, timeout=30000)
    assert "Camera not available" in (
        await consultant.get_by_test_id("call-notice").text_content() or ""
    )
    await both_see_video(officer, clinician)
    assert await officer.get_by_test_id("call-mode").text_content() == "video"
