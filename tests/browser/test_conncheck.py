"""The pre-call test: a real browser calls the server's aiortc echo peer."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from .conftest import PageFactory, wait_playing


async def test_connection_test_echoes_video_and_recommends_a_mode(
    server: TestServer, open_page: PageFactory
) -> None:
    """From the console, the test shows the echoed video, round trip, loss and bitrate, and
    recommends video for a loopback connection with a working (fake) camera."""
    page = await open_page(server, "clinician")
    await page.locator("[data-conncheck] summary").click()
    await page.get_by_test_id("conncheck-start").click()
    await wait_playing(page, "conncheck-video", timeout=15000)
    result = page.get_by_test_id("conncheck-result")
    await result.filter(has_text="Recommended").wait_for(timeout=20000)
    text = await result.inner_text()
    assert "Round trip" in text and "kbit/s" in text
    assert text.rstrip(".").endswith("Recommended: video"), text
