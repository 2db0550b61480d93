"""GET /api/v1/stats/export.csv: rows, header, paging and no identifying value anywhere."""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from conftest import OUTCOME_FORM, REQUEST_FORM, SignInFactory, read_stream
from triage_service.domain.codes import Role
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.export.csv import COLUMNS
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import SETTINGS, STORE

DAY = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday
H, M = 3_600_000, 60_000
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


class FakeClock:
    """Epoch milliseconds that a test moves by hand."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


# Sign-ins outlive the clock jumps of these tests.
pytestmark = pytest.mark.settings(sweep_interval_s=3600, session_absolute_s=30 * 86400)


@pytest.fixture(name="clock")
def noon_clock() -> FakeClock:
    """A clock at noon on the test day."""
    return FakeClock(DAY + 12 * H)


@pytest.fixture(name="app")
async def app_on_test_clock(
    settings: Settings, redis_client: aioredis.Redis, clock: FakeClock
) -> web.Application:
    """The application on the test clock."""
    return create_app(settings, clock=clock)


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


def parse(text: str) -> list[dict[str, str]]:
    """The CSV as dicts, checking the header."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


async def test_export_rows_header_and_no_identifiers(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Each request in the window is one row; no name, free text or coordinate appears."""
    officer = await sign_in("officer", display_name=SECRETS["officer"])
    clinician = await sign_in("clinician", display_name=SECRETS["clinician"])
    ids = []
    for i, at in enumerate((9 * H, 9 * H + M, 10 * H, 11 * H)):
        clock.now_ms = DAY + at
        status, created = await officer.post("/api/v1/requests", identifying_form())
        assert status == 201
        ids.append(created["id"])
        if i < 2:
            await clinician.post(f"/api/v1/requests/{created['id']}/accept")
            clock.now_ms += 20 * M
            status, body = await clinician.post(
                f"/api/v1/requests/{created['id']}/outcome", identifying_outcome()
            )
            assert status == 201, body
    clock.now_ms = DAY + 12 * H
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get(
        "/api/v1/stats/export.csv",
        params={"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"},
    ) as r:
        assert r.status == 200
        assert r.content_type == "text/csv"
        assert r.headers["Content-Disposition"] == (
            'attachment; filename="triage-evaluation-2026-03-02-to-2026-03-02.csv"'
        )
        text = await r.text()
    rows = parse(text)
    assert [row["request_id"] for row in rows] == ids[:3]
    first = rows[0]
    assert (first["hour"], first["weekday"], first["area"], first["priority"]) == (
        "9",
        "mon",
        "Glasgow City Centre",
        "2",
    )
    assert (first["status"], first["wait_s"], first["assessment_s"], first["police_s"]) == (
        "completed",
        "0",
        "1200",
        "1200",
    )
    assert (first["disposition"], first["s297"], first["referral_service"]) == (
        "place_of_safety_s297",
        "yes",
        "crisis_team",
    )
    assert rows[2]["status"] == "waiting" and rows[2]["wait_s"] == ""
    for name, value in SECRETS.items():
        assert value not in text, name


async def test_export_pages_through_ties_and_guards_formulas(
    sign_in: SignInFactory, app: web.Application
) -> None:
    """Over a thousand rows, hundreds created in the same millisecond, each come out once."""
    store, settings = app[STORE], app[SETTINGS]
    officer = User(id="o1", username="o1", display_name="O", role=Role.OFFICER)
    form = RequestForm.model_validate(identifying_form(area='=HYPERLINK("x")'))
    expected = set()
    for i in range(1100):
        at = DAY + 10 * H if i < 700 else DAY + 10 * H + i
        record, _ = await lifecycle.create_request(
            store, settings, officer, form, now_ms=at, idempotency_key=None
        )
        expected.add(record["id"])
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get("/api/v1/stats/export.csv", params={"window": "24h"}) as r:
        rows = parse(await r.text())
    assert len(rows) == 1100
    assert {row["request_id"] for row in rows} == expected
    assert all(row["area"].startswith("'=") for row in rows)


async def test_export_is_audited_and_checks_its_window(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Each export is logged with its window; a bad window is a 422 before any CSV."""
    supervisor = await sign_in("supervisor")
    status, body = await supervisor.get("/api/v1/stats/export.csv?from=2026-03-02T00:00:00Z")
    assert status == 422 and "to" in body["error"]["fields"]
    status, _ = await supervisor.get(
        "/api/v1/stats/export.csv?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"
    )
    assert status == 200
    entries = await read_stream(redis_client, key_prefix + "audit")
    exports = [e for e in entries if e["action"] == "export"]
    assert exports[-1]["detail"] == "2026-03-01T00:00:00.000Z/2026-03-02T00:00:00.000Z"
    assert exports[-1]["user_id"] == supervisor.user.id
