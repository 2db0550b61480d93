"""What a supervisor triages with: acknowledging several alarms at once (each as if alone:
board scope, audit, push; one note for all, the rest skipped with their reason; a retry with
the same key answers again), and a request's read-only page (scoped and audited as its JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from conftest import REDIS_URL, REQUEST_FORM, FakeClock, new_request, read_stream, wait_until
from support.forms import AREAS, DAY, at
from support.sockets import connect
from triage_service.service.alarms import check_alarms
from triage_service.settings import Settings
from triage_service.web.state import STORE

H = 3_600_000


@pytest.fixture
def clock() -> FakeClock:
    """Monday 14:00 UTC."""
    return FakeClock(DAY + 14 * H)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Three boards; sweeps left to the test."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        session_absolute_s=30 * 86400,
    )


async def raised(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> dict[str, str]:
    """Two Lothian and one Glasgow request with nobody on duty: three open alarms, by the
    area of their request (leith, leith2, govan)."""
    officer = await people("officer")
    made = {
        "leith": await new_request(officer, **at("leith")),
        "leith2": await new_request(officer, **at("leith")),
        "govan": await new_request(officer, **at("govan")),
    }
    assert await check_alarms(app[STORE], settings, now_ms=clock()) == 3
    supervisor = await people("supervisor")
    alarms = (await supervisor.request("GET", "/api/v1/alarms"))["alarms"]
    by_request = {a["request_id"]: a["id"] for a in alarms}
    return {name: by_request[r["id"]] for name, r in made.items()}


async def test_a_batch_acknowledges_its_boards_alarms_with_one_note(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """A Lothian supervisor acknowledges two Lothian alarms, a Glasgow one and an unknown id
    in one call: the two are acknowledged with the note (each audited and pushed), the
    Glasgow alarm is skipped as `not_found` and stays open; acknowledging one of them again
    in a batch skips it as `already_acknowledged`."""
    ids = await raised(people, app, settings, clock)
    limited = await people("supervisor", "lothian")
    socket = await connect(limited)
    body = {"ids": [ids["leith"], ids["govan"], ids["leith2"], "nosuchalarm"], "note": "Rang"}
    done = await limited.request("POST", "/api/v1/alarms/ack", body)
    assert [a["id"] for a in done["acknowledged"]] == [ids["leith"], ids["leith2"]]
    assert {a["note"] for a in done["acknowledged"]} == {"Rang"}
    assert all(a["acknowledged_by"]["id"] == limited.user.id for a in done["acknowledged"])
    assert done["skipped"] == [
        {"id": ids["govan"], "code": "not_found"},
        {"id": "nosuchalarm", "code": "not_found"},
    ]
    whole = await people("supervisor")
    still = [a["id"] for a in (await whole.request("GET", "/api/v1/alarms"))["alarms"]]
    assert still == [ids["govan"]]

    async def heard() -> bool:
        return any(
            m["type"] == "alarm"
            and m["alarm"]["id"] == ids["leith2"]
            and m["alarm"]["acknowledged_at"]
            for m in socket.messages
        )

    await wait_until(heard, timeout=5)
    store = app[STORE]
    audit = await read_stream(store.client, store.keys.audit)
    acks = [e for e in audit if e.get("action") == "alarm_acknowledged"]
    assert sorted(e["alarm_id"] for e in acks) == sorted([ids["leith"], ids["leith2"]])
    again = await limited.request("POST", "/api/v1/alarms/ack", {"ids": [ids["leith"]]})
    assert again == {
        "acknowledged": [],
        "skipped": [{"id": ids["leith"], "code": "already_acknowledged"}],
    }
    await socket.close()


async def test_a_retried_batch_answers_its_first_acknowledgements(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """The same batch sent twice with one Idempotency-Key (its answer lost) gets the same
    acknowledgements again, not `already_acknowledged`; the same key with other ids is 422."""
    ids = await raised(people, app, settings, clock)
    supervisor = await people("supervisor")
    body = {"ids": [ids["leith"], ids["govan"]], "note": "Seen"}
    headers = {"Idempotency-Key": "batch-1"}
    first = await supervisor.post("/api/v1/alarms/ack", body, headers=headers)
    second = await supervisor.post("/api/v1/alarms/ack", body, headers=headers)
    assert first[0] == second[0] == 200
    first, second = first[1], second[1]
    assert [a["id"] for a in second["acknowledged"]] == [ids["leith"], ids["govan"]]
    assert second == first
    status, refused = await supervisor.call(
        "POST", "/api/v1/alarms/ack", {"ids": [ids["leith2"]]}, headers=headers
    )
    assert (status, refused["error"]["code"]) == (422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": []}, "ids"),
        ({"ids": ["a", "a"]}, "ids"),
        ({"ids": ["bad id!"]}, "ids.0"),
        ({"ids": ["a"], "note": "x" * 1001}, "note"),
    ],
)
async def test_a_malformed_batch_is_422_naming_the_field(
    people: Any, body: dict[str, Any], field: str
) -> None:
    """No ids, an id twice, an id of the wrong shape or an over-long note: 422 naming it."""
    supervisor = await people("supervisor")
    status, answer = await supervisor.call("POST", "/api/v1/alarms/ack", body)
    assert status == 422 and field in answer["error"]["fields"], answer


async def test_a_request_page_is_scoped_and_audited_as_its_json(
    people: Any, app: web.Application
) -> None:
    """A Lothian supervisor opens a Lothian request's page (status, priority, area and board
    named, times in the board's zone, no name, notes or place typed) and the read is in the
    audit as the JSON's is; a Glasgow request's page is 404, as its JSON is; a clinician is
    sent back to their own page."""
    officer = await people("officer")
    leith, govan = (
        await new_request(officer, **at("leith")),
        await new_request(officer, **at("govan")),
    )
    limited = await people("supervisor", "lothian")
    async with limited.client.get(f"/supervisor/requests/{leith['id']}") as page:
        assert page.status == 200 and page.content_type == "text/html"
        html = await page.text()
    assert 'data-testid="sup-request-page"' in html and "NHS Lothian" in html
    assert "<dd>Leith</dd>" in html and "<dd>26 to 40</dd>" in html
    assert "Europe/London" in html and "waiting" in html
    for secret in (
        REQUEST_FORM["subject"]["known_name"],
        REQUEST_FORM["notes"],
        REQUEST_FORM["incident_ref"],
        REQUEST_FORM["location"]["description"],
    ):
        assert secret not in html
    store = app[STORE]
    audit = await read_stream(store.client, store.keys.audit)
    reads = [
        e for e in audit if e.get("action") == "record" and e.get("user_id") == limited.user.id
    ]
    assert [e["request_id"] for e in reads] == [leith["id"]]
    async with limited.client.get(f"/supervisor/requests/{govan['id']}") as page:
        assert page.status == 404
    assert (await limited.get(f"/api/v1/requests/{govan['id']}"))[0] == 404
    clinician = await people("clinician")
    async with clinician.client.get(
        f"/supervisor/requests/{leith['id']}", allow_redirects=False
    ) as page:
        assert page.status == 303 and page.headers["Location"] == "/console"
