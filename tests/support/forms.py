"""Request and outcome forms the tests send, and the area directory they run with."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import (
    OUTCOME_FORM,
    REQUEST_FORM,
    FakeClock,
)


def outcome_form(**changes: Any) -> dict[str, Any]:
    """A deep copy of OUTCOME_FORM with top-level fields replaced (None removes one)."""
    body = {**copy.deepcopy(OUTCOME_FORM), **copy.deepcopy(changes)}
    return {k: v for k, v in body.items() if v is not None}


PLACE_OF_SAFETY: dict[str, Any] = {
    "name": "Royal Infirmary A&E",
    "address": "84 Castle St, Glasgow",
    "is_police_station": False,
    # A removal shortly before the request (not days before it).
    "removed_at": f"{datetime.now(UTC) - timedelta(minutes=30):%Y-%m-%dT%H:%M:%SZ}",
    "person_name": "Jane Doe",
    "person_address": "1 High St, Glasgow",
    "circumstances": "On the railway platform edge, a public place, distressed.",
}


def outcome(disposition: str, code: str, conveyance: str = "none", **extra: Any) -> dict[str, Any]:
    """An outcome form; referral and place of safety only where the disposition needs them."""
    body = copy.deepcopy(OUTCOME_FORM)
    body.update(disposition=disposition, triage_code=code, conveyance=conveyance, **extra)
    if disposition not in ("dbi_referral", "non_urgent_referral", "urgent_face_to_face"):
        body.pop("referral")
    return body


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


DAY = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday, 00:00 UTC


AREAS = """
[boards.lothian]
name = "NHS Lothian"
timezone = "Europe/London"
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"
lat = 55.975
lon = -3.17
[[boards.lothian.areas]]
id = "musselburgh"
name = "Musselburgh"
phone_fallback = "0131 000 0002"

[boards.glasgow]
name = "NHS Greater Glasgow and Clyde"
[[boards.glasgow.areas]]
id = "govan"
name = "Govan"
phone_fallback = "0141 000 0001"
lat = 55.862
lon = -4.31

[boards.newyork]
name = "New York test board"
timezone = "America/New_York"
[[boards.newyork.areas]]
id = "harlem"
name = "Harlem"
phone_fallback = "+1 212 000 0000"
"""


def at(area_id: str, **changes: Any) -> dict[str, Any]:
    """A request form from `area_id`."""
    location = {"description": "High Street", "area": "somewhere", "area_id": area_id}
    return {"location": location, **changes}


def s297(now_ms: int, **changes: Any) -> dict[str, Any]:
    """An s297 removal outcome with a referral to the crisis team, removed now."""
    pos = {
        "name": "Royal Infirmary",
        "address": "1 Hospital Rd",
        "is_police_station": False,
        "removed_at": iso(now_ms),
        "person_name": "Jane Doe",
        "person_address": "1 High St",
        "circumstances": "Distressed in the street, a public place.",
    }
    result = outcome("place_of_safety_s297", "B", "police", place_of_safety=pos, **changes)
    return {**result, "referral": crisis("B")}


def crisis(urgency: str) -> dict[str, str]:
    return {"service": "crisis_team", "urgency": urgency}


SECRETS = {
    "incident_ref": "PS-SECRET-4711",
    "known_name": "Zebedee Quux",
    "notes": "notes-marker-on-the-bridge",
    "description": "Buchanan-marker-station",
    "lat": "55.8612345",
    "lon": "-4.2512345",
    "officer": "Officer Marker-Smith",
    "clinician": "Clinician Marker-Jones",
    "summary": "summary-marker-ideation",
    "advice": "advice-marker-stay",
    "place": "Marker Royal Infirmary",
    "address": "7 Marker Road",
    "person": "Person Marker-Name",
    "contact": "07700 900123",
    "reason": "reason-marker-no-bed",
    "circumstances": "circumstances-marker",
}


@pytest.fixture(name="clock")
def noon_clock() -> FakeClock:
    """A clock at noon on the test day."""
    return FakeClock(DAY + 12 * 3_600_000)


def identifying_form(area: str = "Glasgow City Centre") -> dict[str, Any]:
    """A request form full of identifying values."""
    body = copy.deepcopy(REQUEST_FORM)
    body.update(incident_ref=SECRETS["incident_ref"], notes=SECRETS["notes"])
    body["location"] = {
        "description": SECRETS["description"],
        "area": area,
        "lat": float(SECRETS["lat"]),
        "lon": float(SECRETS["lon"]),
    }
    body["subject"]["known_name"] = SECRETS["known_name"]
    return body


def identifying_outcome() -> dict[str, Any]:
    """An s297 outcome full of identifying values."""
    return {
        **OUTCOME_FORM,
        "disposition": "place_of_safety_s297",
        "triage_code": "B",
        "summary": SECRETS["summary"],
        "advice_to_officer": SECRETS["advice"],
        "referral": {**OUTCOME_FORM["referral"], "urgency": "B", "contact": SECRETS["contact"]},
        "place_of_safety": {
            "name": SECRETS["place"],
            "address": SECRETS["address"],
            "is_police_station": True,
            "police_station_reason": SECRETS["reason"],
            "removed_at": "2026-03-02T09:10:00Z",
            "person_name": SECRETS["person"],
            "person_address": SECRETS["address"],
            "circumstances": SECRETS["circumstances"],
        },
    }
