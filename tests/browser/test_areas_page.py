"""The officer's area list at phone width: filled from the directory, the nearest area
suggested from the officer's location, and the chosen area's id sent with the request."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from conftest import REQUEST_FORM, create_account, log_in
from support.forms import PLACE_OF_SAFETY, outcome_form
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_tools.pages import fill_request_form, send_request

from .conftest import NO_SIDEWAYS_SCROLL, PageFactory, fill_request, go_available, my_requests

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


async def test_supervisor_sees_the_upstream_view_per_board(
    areas_server: TestServer, open_page: PageFactory
) -> None:
    """The dashboard's upstream view names each area beside its requests, detentions and ED
    conveyances; choosing a board shows only that board's areas."""
    officer = await log_in(areas_server, await create_account(areas_server.app, Role.OFFICER))
    clinician = await log_in(areas_server, await create_account(areas_server.app, Role.CLINICIAN))
    results = {
        "leith": outcome_form(
            triage_code="B",
            disposition="place_of_safety_s297",
            referral=None,
            place_of_safety=PLACE_OF_SAFETY,
        ),
        "govan": outcome_form(
            triage_code="A",
            disposition="emergency_department",
            conveyance="ambulance",
            referral=None,
        ),
    }
    for area, result in results.items():
        location = {**REQUEST_FORM["location"], "area_id": area}
        created = await officer.request(
            "POST", "/api/v1/requests", {**REQUEST_FORM, "location": location}
        )
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/outcome", result)
    page = await open_page(areas_server, "supervisor", viewport={"width": 1440, "height": 900})
    rows = page.get_by_test_id("sup-upstream-table").locator("tbody tr")
    await rows.nth(1).wait_for()
    assert await rows.all_inner_texts() == ["Govan\t1\t0\t1", "Leith\t1\t1\t0"]
    await page.locator("[data-testid=sup-heatmap] svg text").get_by_text("Leith").wait_for()
    await page.get_by_test_id("sup-board").select_option("lothian")
    await page.get_by_test_id("sup-upstream-table").get_by_text("Govan").wait_for(state="detached")
    assert await rows.all_inner_texts() == ["Leith\t1\t1\t0"]
    await officer.client.close()
    await clinician.client.close()


async def test_clinician_sees_the_area_and_board_by_name(
    areas_server: TestServer, open_page: PageFactory
) -> None:
    """The officer picks Govan: the clinician's queue card and the session's details name the
    area and its health board (not their ids), beside the place the officer typed."""
    clinician = await open_page(areas_server, "clinician")
    await go_available(clinician)
    officer = await open_page(areas_server, "officer")
    await officer.locator("[data-testid=location-area-id] option[value=govan]").wait_for(
        state="attached"
    )
    await fill_request_form(officer)
    await officer.get_by_test_id("location-area-id").select_option("govan")
    await send_request(officer)
    place = clinician.get_by_test_id("queue-place")
    await place.filter(has_text="NHS Greater Glasgow and Clyde").wait_for()
    assert (await place.text_content() or "").split(" · ") == [
        "Bus station, Buchanan St",
        "Govan",
        "Glasgow City Centre",
        "NHS Greater Glasgow and Clyde",
    ]
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    details = clinician.get_by_test_id("request-details")
    await details.filter(has_text="NHS Greater Glasgow and Clyde").wait_for()
    rows = await details.evaluate(
        "(dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map("
        "(dt) => [dt.textContent, dt.nextElementSibling.textContent]))"
    )
    assert rows["Location"] == "Bus station, Buchanan St"
    assert rows["Area"] == "Govan · Glasgow City Centre"
    assert rows["Health board"] == "NHS Greater Glasgow and Clyde"
    assert "govan" not in str(rows) and "glasgow" not in str(rows).replace("Glasgow", "")
