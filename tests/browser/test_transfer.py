"""Transfer mid-call in Chromium, three pages: the officer, the clinician in the call and a
colleague on duty, who accepts from the console's prompt; the call goes on with them."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer

from .conftest import (
    PageFactory,
    assert_accessible,
    both_see_video,
    go_available,
    request_and_accept,
    wait_playing,
)


async def test_transfer_mid_call_moves_the_call_to_the_colleague(
    server: TestServer, open_page: PageFactory
) -> None:
    """A offers the call to B with a note; B's console shows who asks, the note and the
    countdown, and B accepts: B's session connects to the officer with video both ways, A's
    call ends, and the officer's page names B without redialling."""
    a = await open_page(server, "clinician", display_name="Nurse Adams")
    b = await open_page(server, "clinician", display_name="Dr Brown")
    officer = await open_page(server, "officer")
    await go_available(b)
    await request_and_accept(officer, a)
    await both_see_video(officer, a)
    await officer.get_by_test_id("peer-name").filter(has_text="Nurse Adams").wait_for()

    await a.get_by_test_id("tab-outcome").click()
    await a.get_by_test_id("transfer-reload").click()
    await (
        a.get_by_test_id("transfer-to")
        .locator("option", has_text="Dr Brown")
        .wait_for(state="attached")
    )
    await a.get_by_test_id("transfer-to").select_option(label="Dr Brown (All boards)")
    await a.get_by_test_id("transfer-note").fill("She asks for a doctor.")
    await a.get_by_test_id("transfer-send").click()
    await a.locator('[data-testid="transfer-state"][data-state="pending"]').wait_for()
    await assert_accessible(a, "a transfer waiting for its answer")

    offer = b.get_by_test_id("transfer-offer")
    await offer.wait_for()
    assert "Nurse Adams" in (await offer.text_content() or "")
    assert (
        await b.get_by_test_id("transfer-offer-note").text_content() == "“She asks for a doctor.”"
    )
    assert re.fullmatch(
        r"0:[0-5]\d|1:00", await b.get_by_test_id("transfer-countdown").text_content() or ""
    )
    await assert_accessible(b, "a transfer offered on the console")
    await b.get_by_test_id("transfer-accept").click()
    await b.wait_for_url("**/session/*")

    await a.get_by_test_id("handed-over").wait_for()
    assert "Dr Brown" in (await a.get_by_test_id("handed-over").text_content() or "")
    ended = a.get_by_test_id("connection-state").filter(has_text=re.compile("^disconnected$"))
    await ended.wait_for(state="attached")  # A's call is over (its pane hidden)
    await officer.get_by_test_id("peer-name").filter(has_text="Dr Brown").wait_for()
    await both_see_video(officer, b)
    await wait_playing(officer, "remote-video")
    chat = officer.get_by_test_id("chat-log")
    await chat.get_by_text("Dr Brown has taken over the call.").wait_for()
