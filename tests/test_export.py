"""GET /api/v1/stats/export.csv: rows, header, paging and no identifying value anywhere."""

from __future__ import annotations

import csv
import io

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from conftest import FakeClock, SignInFactory, read_stream
from support.forms import (  # noon_clock: the fixture `clock`
    DAY,
    SECRETS,
    identifying_form,
    identifying_outcome,
    noon_clock,  # noqa: F401
)
from triage_service.domain.codes import Role
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.export import csv as export_csv
from triage_service.export.csv import COLUMNS
from triage_service.service import lifecycle
from triage_service.web.state import SETTINGS, STORE

H, M = 3_600_000, 60_000


# Sign-ins outlive the clock jumps of these tests.
pytestmark = pytest.mark.settings(sweep_interval_s=3600, session_absolute_s=30 * 86400)


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
    sign_in: SignInFactory, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over two pages of rows, more than a page of them created in the same millisecond, each
    come out once (pages of 50 here, as of 500 in service)."""
    monkeypatch.setattr(export_csv, "PAGE", 50)
    store, settings = app[STORE], app[SETTINGS]
    officer = User(id="o1", username="o1", display_name="O", role=Role.OFFICER)
    form = RequestForm.model_validate(identifying_form(area='=HYPERLINK("x")'))
    expected = set()
    for i in range(110):
        at = DAY + 10 * H if i < 70 else DAY + 10 * H + i
        record, _ = await lifecycle.create_request(
            store, settings, officer, form, now_ms=at, idempotency_key=None
        )
        expected.add(record.id)
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get("/api/v1/stats/export.csv", params={"window": "24h"}) as r:
        rows = parse(await r.text())
    assert len(rows) == 110
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
