"""The real call in Chromium: the officer's phone page, the clinician's console, the session."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, WebSocketRoute

from .conftest import (
    ADVICE,
    PageFactory,
    both_see_video,
    chat,
    fill_for_review,
    fill_request,
    go_available,
    request_and_accept,
    wait_playing,
    wait_state,
)


async def file_outcome(clinician: Page) -> None:
    """Fill the outcome form (code C, urgent face-to-face referral), review and file it."""
    await fill_for_review(clinician)
    await clinician.get_by_test_id("outcome-confirm").click()


async def test_request_accept_call_chat_and_outcome(
    server: TestServer, open_page: PageFactory
) -> None:
    """The officer's request appears live (with an alert) on an available clinician's console;
    after accept both session pages connect by themselves with video playing both ways, chat
    crosses both ways, and the filed outcome reaches the officer in plain words."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await request_and_accept(officer, clinician)
    assert await clinician.locator("#console").count() == 0  # now on the session page
    await both_see_video(officer, clinician)
    await wait_playing(officer, "local-video")
    details = await clinician.get_by_test_id("request-details").text_content() or ""
    assert "PS-20261126-0042" in details and "Bus station" in details
    await chat(officer, clinician, "She has stepped back from the edge.")
    await chat(clinician, officer, "Thank you. Can you ask her name?")

    await file_outcome(clinician)
    await officer.get_by_test_id("officer-outcome").wait_for()
    assert await officer.get_by_test_id("outcome-advice").text_content() == ADVICE
    assert await officer.get_by_test_id("outcome-code").text_content() == "C"
    assert "High risk" in (await officer.get_by_test_id("outcome-meaning").text_content() or "")
    assert "face-to-face" in (
        await officer.get_by_test_id("outcome-disposition").text_content() or ""
    )
    await clinician.get_by_text("Outcome filed").wait_for()


async def test_console_alerts_on_arrival_when_available(
    server: TestServer, open_page: PageFactory
) -> None:
    """An available clinician gets a tone and notification per new request (counted on the
    page); an offline one sees the queue grow without being alerted."""
    available = await open_page(server, "clinician")
    offline = await open_page(server, "clinician")
    await go_available(available)
    officer = await open_page(server, "officer")
    await fill_request(officer)
    for console in (available, offline):
        await console.get_by_test_id("queue-item").wait_for()
    assert await available.locator("#console").get_attribute("data-alerts") == "1"
    assert await offline.locator("#console").get_attribute("data-alerts") is None


async def test_call_across_two_instances(
    server: TestServer, second_server: TestServer, open_page: PageFactory
) -> None:
    """An officer on one instance and a clinician on another (one Redis) pair, call with video
    both ways and chat."""
    officer = await open_page(server, "officer")
    clinician = await open_page(second_server, "clinician")
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)
    await chat(officer, clinician, "Across instances.")
    await chat(clinician, officer, "Heard you.")


async def test_call_recovers_when_either_page_reloads(
    server: TestServer, open_page: PageFactory
) -> None:
    """A session page that reloads mid-call rejoins by itself: the other side replaces its
    connection and both have video again."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)
    for page in (officer, clinician):
        await page.reload()
        await both_see_video(officer, clinician)


async def test_switching_modes_takes_both_sides(server: TestServer, open_page: PageFactory) -> None:
    """Audio, text and back to video: the other side follows each switch and the chat keeps
    working in text mode."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    await request_and_accept(officer, clinician)
    await both_see_video(officer, clinician)

    await officer.get_by_test_id("mode-audio").click()
    for page in (officer, clinician):
        await page.locator("#session.mode-audio").wait_for(state="attached")
        await wait_state(page, "connected")
    await clinician.get_by_test_id("mode-text").click()
    for page in (officer, clinician):
        await page.locator("#session.mode-text").wait_for(state="attached")
    await chat(officer, clinician, "Typing only now.")
    await officer.get_by_test_id("mode-video").click()
    await both_see_video(officer, clinician)


class LossyLiveChannel:
    """Proxies a page's /ws to the server, losing every `signal` while `losing` is set."""

    def __init__(self) -> None:
        self.losing = True
        self.routes: list[WebSocketRoute] = []

    def route(self, page_side: WebSocketRoute) -> None:
        """Connect the page's socket to the server through this filter."""
        server_side = page_side.connect_to_server()
        self.routes.append(page_side)

        def from_server(message: str | bytes) -> None:
            if self.losing and json.loads(message).get("type") == "signal":
                return
            page_side.send(message)

        server_side.on_message(from_server)
        page_side.on_message(server_side.send)

    async def drop_connection(self) -> None:
        """Close the page's current socket, as a phone changing network would."""
        await self.routes[-1].close()


async def test_lost_signals_are_recovered_after_the_live_channel_reconnects(
    server: TestServer, open_page: PageFactory
) -> None:
    """If every signal to the officer is lost the call cannot connect; once the officer's live
    channel drops and reconnects, the peers re-offer and the call connects with video."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    lossy = LossyLiveChannel()
    await officer.route_web_socket("**/ws", lossy.route)
    await officer.reload()
    await request_and_accept(officer, clinician)
    await officer.wait_for_timeout(1500)
    assert await officer.get_by_test_id("connection-state").text_content() != "connected"

    lossy.losing = False
    await lossy.drop_connection()
    await both_see_video(officer, clinician)


async def test_an_offer_lost_without_a_reconnect_is_sent_again(
    server: TestServer, open_page: PageFactory
) -> None:
    """If the signals to the officer are lost while the call is set up (pub/sub dropped them)
    and the live channel stays open, the clinician's unanswered offer is sent again after 3 s
    (then after 6 s, ...): the call connects with video without either live channel
    reconnecting."""
    officer = await open_page(server, "officer")
    clinician = await open_page(server, "clinician")
    lossy = LossyLiveChannel()
    await officer.route_web_socket("**/ws", lossy.route)
    await officer.reload()
    await request_and_accept(officer, clinician)
    await officer.wait_for_timeout(1500)
    assert await officer.get_by_test_id("connection-state").text_content() != "connected"

    sockets = len(lossy.routes)
    lossy.losing = False
    await both_see_video(officer, clinician)
    assert len(lossy.routes) == sockets  # the officer's live channel never reconnected
