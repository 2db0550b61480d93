"""Exports per health board: `board=` among the reader's boards (default all of theirs), the
board's local days, the CSV's columns against the data dictionary in docs/export.md, and
the FHIR Encounter's age band, sex, area and board."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from stats_random import make_random_requests

from conftest import REDIS_URL, ApiClient, FakeClock, new_request, read_stream
from support.forms import AREAS, at, s297
from triage_service.export.csv import COLUMNS
from triage_service.settings import Settings
from triage_service.web.state import STORE

ROOT = Path(__file__).resolve().parents[1]
# Monday 2 March 2026, 03:00 UTC: Sunday 1 March, 22:00 in New York.
NY_SUNDAY_NIGHT = int(datetime(2026, 3, 2, 3, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000
KINDS = {
    "id": r"[0-9a-f]{16}",
    "code": r"[a-z0-9][a-z0-9_-]*",
    "integer": r"[0-9]+",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "text": r".*",
}


@pytest.fixture
def clock() -> FakeClock:
    """The clock, moved by the tests."""
    return FakeClock(NY_SUNDAY_NIGHT)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Lothian, Glasgow and New York from an areas file; no sweeps; long sign-ins."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        session_absolute_s=30 * 86400,
        presence_lease_s=86400,
    )


def data_dictionary() -> list[tuple[str, str]]:
    """(column, values) of each row of the CSV data dictionary in docs/export.md."""
    text = (ROOT / "docs" / "export.md").read_text()
    table = text.split("## CSV data dictionary", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1]))
    return rows


def allows(values: str) -> re.Pattern[str]:
    """The cells a dictionary row's `values` allows, as a pattern: its codes (and `empty`),
    or its kind (*integer*, ... "or empty")."""
    kind = re.fullmatch(r"\*(\w+)\*( or empty)?", values)
    if kind:
        pattern = KINDS[kind.group(1)]
        return re.compile(f"(?:{pattern})" + ("?" if kind.group(2) else ""))
    codes = re.findall(r"`([^`]*)`", values)
    if re.search(r"(^|, )empty$", values):
        codes.append("")
    return re.compile("|".join(re.escape(code) for code in codes))


async def export(client: ApiClient, query: str, path: str = "export.csv") -> tuple[int, str, str]:
    """An export's status, file name and body."""
    async with client.client.get(f"/api/v1/stats/{path}?{query}") as response:
        name = response.headers.get("Content-Disposition", "")
        return response.status, name, await response.text()


def rows_of(text: str) -> list[dict[str, str]]:
    """The CSV's rows by column name."""
    return list(csv.DictReader(io.StringIO(text)))


async def feedback(officer: ApiClient, request_id: str, **rating: Any) -> None:
    """The officer rates the assessment."""
    await officer.request("POST", f"/api/v1/requests/{request_id}/feedback", rating)


async def test_data_dictionary_matches_a_real_export(
    people: Any, app: web.Application, clock: FakeClock
) -> None:
    """docs/export.md lists every column of the CSV, in the order of a real export's header,
    and every value of a real export (random requests of three boards and of none, a police
    station used as a place of safety) is one its row allows."""
    await make_random_requests(
        app[STORE],
        app,
        random.Random(4711),
        start_ms=NY_SUNDAY_NIGHT - 48 * H,
        hours=48,
        count=120,
        area_ids=["leith", "govan", "harlem", None],
    )
    officer, clinician = await people("officer"), await people("clinician")
    created = await new_request(officer, **at("leith"))
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    station = s297(clock.now_ms)
    station["place_of_safety"].update(is_police_station=True, police_station_reason="No bed")
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/outcome", station)
    supervisor = await people("supervisor")
    clock.now_ms += 1000  # the window ends now, exclusive
    status, _, text = await export(supervisor, "window=7d")
    assert status == 200
    header = text.splitlines()[0].split(",")
    dictionary = data_dictionary()
    assert [column for column, _ in dictionary] == header == list(COLUMNS)
    patterns = {column: allows(values) for column, values in dictionary}
    rows = rows_of(text)
    assert len(rows) == 121
    for row in rows:
        for column, value in row.items():
            assert patterns[column].fullmatch(value), (column, value)
    seen = {column: {row[column] for row in rows} for column in header}
    assert {"yes", "no", ""} <= seen["police_station"] and "" in seen["board"]
    assert len(seen["board"]) == 4
    assert seen["consent"] == {"given", "lacks_capacity", "declined"}


async def test_a_boards_export_counts_its_local_days(
    people: Any, app: web.Application, clock: FakeClock
) -> None:
    """`board=newyork&from=2026-03-01&to=2026-03-01` is New York's Sunday: a request made at
    03:00 UTC on Monday is in it (date 2026-03-01, hour 22, `sun`) and not in Monday's; the
    file is named after the local days; the row carries the minutes saved, the rating, the
    police station and the consent."""
    officer, clinician = await people("officer"), await people("clinician")
    created = await new_request(officer, **at("harlem"))
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    station = s297(clock.now_ms)
    station["place_of_safety"].update(is_police_station=True, police_station_reason="No bed")
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/outcome", station)
    await feedback(officer, created["id"], useful=4, time_saved_min=90)
    supervisor = await people("supervisor")
    status, name, text = await export(supervisor, "board=newyork&from=2026-03-01&to=2026-03-01")
    assert status == 200 and "triage-evaluation-2026-03-01-to-2026-03-01.csv" in name
    (row,) = rows_of(text)
    assert (row["request_id"], row["date"], row["hour"], row["weekday"]) == (
        created["id"],
        "2026-03-01",
        "22",
        "sun",
    )
    assert (row["board"], row["area_id"], row["useful"], row["time_saved_min"]) == (
        "newyork",
        "harlem",
        "4",
        "90",
    )
    assert (row["police_station"], row["consent"]) == ("yes", "given")
    _, _, monday = await export(supervisor, "board=newyork&from=2026-03-02&to=2026-03-02")
    assert rows_of(monday) == []
    status, body = await supervisor.get("/api/v1/stats/export.csv?from=2026-02-30&to=2026-03-01")
    assert status == 422 and "from" in body["error"]["fields"]


async def test_a_board_limited_supervisor_exports_only_their_boards(
    people: Any, app: web.Application, clock: FakeClock
) -> None:
    """A supervisor limited to Lothian exports Lothian's requests by default (CSV and FHIR),
    gets 403 `forbidden_board` for Glasgow, and the access log keeps each export's span
    and board."""
    officer, clinician = await people("officer"), await people("clinician")
    made = {}
    for area in ("leith", "govan"):
        created = await new_request(officer, **at(area))
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
        await clinician.request(
            "POST", f"/api/v1/requests/{created['id']}/outcome", s297(clock.now_ms)
        )
        made[area] = created["id"]
    await new_request(officer, location={"description": "A street", "area": "Nowhere known"})
    clock.now_ms += 1000  # the window ends now, exclusive
    limited = await people("supervisor", "lothian")
    _, _, text = await export(limited, "window=24h")
    assert [row["request_id"] for row in rows_of(text)] == [made["leith"]]
    _, _, ndjson = await export(limited, "window=24h", "export.fhir.ndjson")
    encounters = [json.loads(line) for line in ndjson.splitlines()]
    assert {r["id"] for r in encounters if r["resourceType"] == "Encounter"} == {made["leith"]}
    status, body = await limited.get("/api/v1/stats/export.csv?board=glasgow")
    assert (status, body["error"]["code"]) == (403, "forbidden_board")
    whole = await people("supervisor")
    _, _, everything = await export(whole, "window=24h")
    assert len(rows_of(everything)) == 3
    entries = await read_stream(app[STORE].client, app[STORE].keys.audit)
    exports = [e for e in entries if e["action"] in ("export", "export_fhir")]
    assert [(e["user_id"], e["board"]) for e in exports] == [
        (limited.user.id, "lothian"),
        (limited.user.id, "lothian"),
        (whole.user.id, ""),
    ]
    assert all(e["from"].endswith("Z") and e["to"].endswith("Z") for e in exports)


async def test_fhir_encounter_carries_age_band_sex_area_and_board(
    people: Any, app: web.Application, clock: FakeClock, settings: Settings
) -> None:
    """Each Encounter has the `age-band`, `sex`, `area` and `board` extensions (codes, and
    the directory's codings with their names), so equity and area analysis is possible from
    the FHIR export alone; a place not in the directory gives no `area`."""
    officer, clinician = await people("officer"), await people("clinician")
    for location in (at("leith")["location"], {"description": "A street", "area": "Nowhere"}):
        created = await new_request(
            officer, location=location, subject={"age_band": "18_25", "sex": "male"}
        )
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
        await clinician.request(
            "POST", f"/api/v1/requests/{created['id']}/outcome", s297(clock.now_ms)
        )
        clock.now_ms += 1000  # in this order; the window ends now, exclusive
    supervisor = await people("supervisor")
    _, _, ndjson = await export(supervisor, "window=24h", "export.fhir.ndjson")
    base = settings.fhir_base_url.rstrip("/") + "/StructureDefinition/"
    found = []
    for resource in (json.loads(line) for line in ndjson.splitlines()):
        if resource["resourceType"] == "Encounter":
            found.append({e["url"].removeprefix(base): e for e in resource["extension"]})
    leith, nowhere = found
    assert leith["age-band"]["valueCode"] == "18_25" and leith["sex"]["valueCode"] == "male"
    assert {k: leith["area"]["valueCoding"][k] for k in ("code", "display")} == {
        "code": "leith",
        "display": "Leith",
    }
    assert leith["board"]["valueCoding"]["code"] == "lothian"
    assert leith["board"]["valueCoding"]["display"] == "NHS Lothian"
    assert "area" not in nowhere and "board" not in nowhere
    assert nowhere["sex"]["valueCode"] == "male"
