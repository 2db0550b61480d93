"""The pre-call test: a real browser calls the server's aiortc echo peer."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from .conftest import PageFactory, wait_playing


async def test_connection_test_echoes_video_and_recommends_a_mode(
    server: TestServer, open_page: PageFactory
) -> None:
    """From the console, the test shows the echoed video and says in plain words that the
    connection is good enough for video (loopback, fake camera); round trip, loss and bitrate
    are folded away under "The numbers"."""
    page = await open_page(server, "clinician")
    await page.locator("[data-conncheck] summary").click()
    await page.get_by_test_id("conncheck-start").click()
    await wait_playing(page, "conncheck-video", timeout=15000)
    result = page.get_by_test_id("conncheck-result")
    plain = page.get_by_test_id("conncheck-plain")
    await plain.wait_for(timeout=20000)
    assert await plain.text_content() == "Your connection is good enough for video."
    assert "Round trip" not in await result.inner_text()
    await result.get_by_text("The numbers").click()
    text = await result.inner_text()
    assert "Round trip" in text and "kbit/s" in text
    assert text.rstrip(".").endswith("Recommended: video"), text
