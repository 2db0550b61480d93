"""Pages as browsers get them: an HTML not-found page for a mistyped address, JSON for the API."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from triage_service.domain.codes import TriageCode
from triage_service.web.views.pages import response_target


async def test_mistyped_page_address_gets_the_html_not_found_page(server: TestServer) -> None:
    """GET /offcer answers 404 with the HTML not-found page; /api/v1/nope keeps the JSON body."""
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/offcer")) as page:
            assert page.status == 404 and page.content_type == "text/html"
            assert "<h1>Not found</h1>" in await page.text()
        async with http.get(server.make_url("/api/v1/nope")) as api:
            assert api.status == 404 and api.content_type == "application/json"
            assert (await api.json())["error"]["code"] == "not_found"


def test_response_targets_read_in_the_right_number() -> None:
    """A target of 1 hour reads "1 hour", 4 hours "4 hours", 48 "2 days", a week "1 week"."""
    targets = {"B": 1, "C": 4, "D": 48, "E": 168}
    said = {code: response_target(TriageCode(code), targets) for code in targets}
    assert said == {
        "B": "face-to-face within 1 hour",
        "C": "face-to-face within 4 hours",
        "D": "face-to-face within 2 days",
        "E": "face-to-face within 1 week",
    }
