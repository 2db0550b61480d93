"""The officer's area list at phone width: filled from the directory, the nearest area
suggested from the officer's location, and the chosen area's id sent with the request."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from triage_service.settings import Settings
from triage_service.web.app import create_app

from .conftest import PageFactory, fill_request
from .test_officer_page import NO_SIDEWAYS_SCROLL, my_requests

AREAS = """
[boards.lothian]
name = "NHS Lothian"
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"
lat = 55.975
lon = -3.17
[boards.glasgow]
name = "NHS Greater Glasgow and Clyde"
[[boards.glasgow.areas]]
id = "govan"
name = "Govan"
phone_fallback = "0141 000 0001"
lat = 55.862
lon = -4.31
"""


@pytest.fixture
async def areas_server(settings: Settings, tmp_path: Path) -> AsyncIterator[TestServer]:
    """An instance with two boards of one area each."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    test_server = TestServer(create_app(dataclasses.replace(settings, areas_file=str(path))))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def test_officer_picks_an_area_and_the_request_carries_it(
    areas_server: TestServer, open_page: PageFactory
) -> None:
    """At 360 px the area list holds both boards' areas; "use my location" near Govan
    suggests Govan; the officer picks Leith instead and the request carries `leith`."""
    officer = await open_page(
        areas_server,
        "officer",
        permissions=("camera", "microphone", "geolocation"),
        geolocation={"latitude": 55.86, "longitude": -4.3},
    )
    select = officer.get_by_test_id("location-area-id")
    await officer.locator("[data-testid=location-area-id] option[value=leith]").wait_for(
        state="attached"
    )
    await officer.get_by_test_id("use-location").click()
    await officer.get_by_test_id("geo-status").filter(has_text="Nearest area: Govan").wait_for()
    assert await select.input_value() == "govan"
    await select.select_option("leith")
    assert await officer.evaluate(NO_SIDEWAYS_SCROLL)
    await fill_request(officer)
    [request] = await my_requests(officer)
    assert request["location"]["area_id"] == "leith"
    assert request["board"] == "lothian"
    assert request["fallback"]["phone"] == "0131 000 0001"
