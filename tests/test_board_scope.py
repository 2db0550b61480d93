"""Board scope: a user limited to health boards reads and hears only their boards' requests,
alarms, referrals, s298 notices, handovers and queue counts (404 outside); a waiting request
reaches a clinician's eyes only once offered to them; `no_clinician_on_duty` per board; alarms
placed by area and board, and resolved when their cause ends."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conftest import REDIS_URL, ApiClient, FakeClock, create_account, new_request, on_duty
from support.forms import AREAS, DAY, at, crisis, iso, outcome, s297
from support.sockets import connect
from triage_service.domain.codes import Role
from triage_service.service.alarms import check_alarms, escalation_body
from triage_service.service.timers import sweep_due
from triage_service.settings import Settings
from triage_service.web.state import STORE

H = 3_600_000
LOTHIAN = {"id": "lothian", "name": "NHS Lothian"}
LEITH = {"id": "leith", "name": "Leith"}


@pytest.fixture
def clock() -> FakeClock:
    """Monday 14:00 UTC."""
    return FakeClock(DAY + 14 * H)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Three boards from an areas file; sweeps left to the tests (by hand); a webhook, so
    critical alarms queue deliveries; s298 notices due in a day."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        session_absolute_s=30 * 86400,
        presence_lease_s=86400,  # leases outlive the clock jumps
        alert_webhook_url="http://127.0.0.1:9/unreachable",
        alert_webhook_secret="webhook-secret-for-tests-32-bytes-long",
        mwc_notice_days=1,
    )


async def assessed(
    officer: ApiClient, clinician: ApiClient, area: str, result: dict[str, Any]
) -> dict[str, Any]:
    """A request from `area` accepted by `clinician` and closed with `result`; the stored
    record."""
    created = await new_request(officer, **at(area))
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/outcome", result)
    record = await _store(officer).requests.load(created["id"])
    assert record is not None
    return asdict(record)


# ---- reads ----------------------------------------------------------------------------------


async def test_a_board_limited_supervisor_reads_only_their_boards_requests(people: Any) -> None:
    """A supervisor limited to Lothian reads a Lothian request and gets 404 for a Glasgow
    one, as for a record that does not exist; a supervisor of every board reads both."""
    officer = await people("officer")
    leith, govan = (
        await new_request(officer, **at("leith")),
        await new_request(officer, **at("govan")),
    )
    limited, whole = await people("supervisor", "lothian"), await people("supervisor")
    assert (await limited.get(f"/api/v1/requests/{leith['id']}"))[0] == 200
    status, body = await limited.get(f"/api/v1/requests/{govan['id']}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    for created in (leith, govan):
        assert (await whole.get(f"/api/v1/requests/{created['id']}"))[0] == 200
    queue = await limited.request("GET", "/api/v1/queue")
    assert [r["id"] for r in queue["waiting"]] == [leith["id"]]


async def test_a_clinician_reads_a_waiting_request_only_once_offered(
    people: Any, clock: FakeClock
) -> None:
    """With Lothian staffed, a Glasgow clinician gets 404 for a waiting Lothian request (its
    name and notes) until its overflow time (120 s for priority 2), then reads it; once a
    Lothian clinician has taken it, 404 again."""
    officer, glasgow = await people("officer"), await people("clinician", "glasgow")
    lothian = await people("clinician", "lothian")
    async with on_duty(lothian):
        created = await new_request(officer, **at("leith"), urgency="urgent")
        path = f"/api/v1/requests/{created['id']}"
        assert (await glasgow.get(path))[0] == 404
        seen = await lothian.request("GET", path)
        assert seen["subject"]["known_name"] and seen["notes"]
        clock.advance(120)
        assert (await glasgow.get(path))[0] == 200
        await lothian.request("POST", f"{path}/accept")
        assert (await glasgow.get(path))[0] == 404


async def test_a_past_clinician_reads_but_may_not_change_the_referral(people: Any) -> None:
    """A clinician who accepted and released a request still reads it (its clinical
    record), but cancelling the referral another clinician made on it is 404; the referring
    clinician may."""
    officer, first, second = (
        await people("officer"),
        await people("clinician"),
        await people("clinician"),
    )
    created = await new_request(officer, **at("leith"))
    path = f"/api/v1/requests/{created['id']}"
    await first.request("POST", f"{path}/accept")
    await first.request("POST", f"{path}/release", {"reason": "called away"})
    await second.request("POST", f"{path}/accept")
    filed = await second.request(
        "POST", f"{path}/outcome", outcome("urgent_face_to_face", "C", referral=crisis("C"))
    )
    referral = filed["referral"]["id"]
    assert (await first.get(path))[0] == 200
    status, body = await first.call(
        "PATCH", f"/api/v1/referrals/{referral}", {"status": "cancelled"}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert (await first.get(f"{path}/handover"))[0] == 404
    status, changed = await second.call(
        "PATCH", f"/api/v1/referrals/{referral}", {"status": "cancelled"}
    )
    assert status == 200 and changed["status"] == "cancelled"


async def test_referrals_notices_and_handovers_per_board(people: Any, clock: FakeClock) -> None:
    """A supervisor limited to Lothian lists Lothian's referrals and s298 notifications only
    and opens Lothian's s298 notice, not Glasgow's (404); the Lothian crisis team reads its
    handover, not Glasgow's."""
    officer, clinician = await people("officer"), await people("clinician")
    leith = await assessed(officer, clinician, "leith", s297(clock.now_ms))
    govan = await assessed(officer, clinician, "govan", s297(clock.now_ms))
    limited, whole = await people("supervisor", "lothian"), await people("supervisor")
    listed = await limited.request("GET", "/api/v1/referrals?status=all")
    assert {r["request_id"] for r in listed["referrals"]} == {leith["id"]}
    assert {r["id"] for r in listed["referrals"]} == {leith["referral_id"], leith["notice_id"]}
    everything = await whole.request("GET", "/api/v1/referrals?status=all")
    assert {r["request_id"] for r in everything["referrals"]} == {leith["id"], govan["id"]}
    for record, expected in ((leith, 200), (govan, 404)):
        notice = f"/api/v1/referrals/{record['notice_id']}/s298-notice"
        assert (await limited.client.get(notice)).status == expected
        assert (await whole.client.get(notice)).status == 200
    team = await people("receiver", team="crisis_team:lothian")
    assert (await team.client.get(f"/api/v1/requests/{leith['id']}/handover")).status == 200
    assert (await team.client.get(f"/api/v1/requests/{govan['id']}/handover")).status == 404


# ---- live -----------------------------------------------------------------------------------


async def test_a_clinician_hears_only_requests_offered_to_them(people: Any) -> None:
    """A Glasgow clinician hears nothing of a Lothian request created while Lothian is
    staffed, nor of it being taken before its overflow time; a Glasgow request they hear."""
    officer, glasgow = await people("officer"), await people("clinician", "glasgow")
    lothian = await people("clinician", "lothian")
    async with on_duty(lothian):
        socket = await connect(glasgow)
        leith = await new_request(officer, **at("leith"), urgency="routine")
        await lothian.request("POST", f"/api/v1/requests/{leith['id']}/accept")
        govan = await new_request(officer, **at("govan"))
        await socket.wait_for("request.created", status="waiting")
        await asyncio.sleep(0.3)
        heard = {m["request"]["id"] for m in socket.messages if "request" in m}
        assert heard == {govan["id"]}
        await socket.close()


async def test_queue_counts_per_board(people: Any) -> None:
    """`queue.changed` tells a supervisor limited to Glasgow how many Glasgow requests wait,
    and a supervisor of every board how many wait in all."""
    officer = await people("officer")
    limited, whole = await people("supervisor", "glasgow"), await people("supervisor")
    sockets = {who: await connect(who) for who in (limited, whole)}
    for area in ("leith", "musselburgh", "govan"):
        await new_request(officer, **at(area))
    await sockets[whole].wait_for("queue.changed", waiting=3)
    await sockets[limited].wait_for("queue.changed", waiting=1)
    assert all(m["waiting"] <= 1 for m in sockets[limited].messages if m["type"] == "queue.changed")
    for socket in sockets.values():
        await socket.close()


async def test_the_officers_live_wait_follows_the_board(people: Any) -> None:
    """An officer's live `queue.changed` counts the clinicians on duty the request is
    offered to, as the request itself does: with one Lothian and one Glasgow clinician on
    duty, a Lothian request waiting before its overflow time has one, not two."""
    officer = await people("officer")
    lothian, glasgow = await people("clinician", "lothian"), await people("clinician", "glasgow")
    async with on_duty(lothian), on_duty(glasgow):
        socket = await connect(officer)
        created = await new_request(officer, **at("leith"), urgency="routine")
        told = await socket.wait_for("queue.changed", request_id=created["id"])
        assert told["clinicians_on_duty"] == created["clinicians_on_duty"] == 1
        assert told["estimated_wait_s"] is not None
        await socket.close()


# ---- alarms ---------------------------------------------------------------------------------


async def test_alarms_per_board_list_acknowledge_and_push(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """With nobody on duty, a Lothian and a Glasgow request each raise an alarm carrying its
    area and board; a supervisor limited to Lothian lists and hears Lothian's only, and
    acknowledging Glasgow's is 404 (it stays open, still escalating)."""
    officer = await people("officer")
    limited, whole = await people("supervisor", "lothian"), await people("supervisor")
    sockets = {who: await connect(who) for who in (limited, whole)}
    leith, govan = (
        await new_request(officer, **at("leith")),
        await new_request(officer, **at("govan")),
    )
    assert await check_alarms(app[STORE], settings, now_ms=clock()) == 2
    await sockets[whole].wait_for("alarm")
    mine = (await limited.request("GET", "/api/v1/alarms"))["alarms"]
    assert [(a["request_id"], a["area"], a["board"]) for a in mine] == [
        (leith["id"], LEITH, LOTHIAN)
    ]
    everyone = (await whole.request("GET", "/api/v1/alarms"))["alarms"]
    assert {a["request_id"] for a in everyone} == {leith["id"], govan["id"]}
    theirs = next(a for a in everyone if a["request_id"] == govan["id"])
    assert theirs["board"] == {"id": "glasgow", "name": "NHS Greater Glasgow and Clyde"}
    status, body = await limited.post(f"/api/v1/alarms/{theirs['id']}/ack", {})
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert theirs["id"] in {
        a["id"] for a in (await whole.request("GET", "/api/v1/alarms"))["alarms"]
    }
    store = app[STORE]  # still to be delivered (due, or being tried right now)
    assert await store.client.zscore(store.keys.alarm_deliveries, f"webhook:{theirs['id']}")
    await asyncio.sleep(0.3)
    heard = {m["alarm"]["request_id"] for m in sockets[limited].messages if m["type"] == "alarm"}
    assert heard == {leith["id"]}
    assert (await limited.post(f"/api/v1/alarms/{mine[0]['id']}/ack", {}))[0] == 200
    for socket in sockets.values():
        await socket.close()


async def test_no_clinician_on_duty_is_per_board(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """With only a Glasgow clinician on duty, a Lothian priority-1 request is offered to them
    at once (in their queue, an estimate and no "nobody on duty" for the officer) and raises
    a critical `no_clinician_on_duty` alarm for Lothian; a Glasgow request raises none. Once
    accepted, the alarm is resolved (`request_accepted`) and leaves the open list and the
    webhook queue."""
    officer, glasgow = await people("officer"), await people("clinician", "glasgow")
    async with on_duty(glasgow):
        leith = await new_request(officer, **at("leith"), urgency="immediate")
        govan = await new_request(officer, **at("govan"), urgency="routine")
        assert leith["clinicians_on_duty"] == 1 and leith["fallback"] is None
        assert leith["estimated_wait_s"] is not None
        queue = await glasgow.request("GET", "/api/v1/queue")
        assert [r["id"] for r in queue["waiting"]] == [leith["id"], govan["id"]]
        assert await check_alarms(app[STORE], settings, now_ms=clock()) == 1
        supervisor = await people("supervisor")
        (alarm,) = (await supervisor.request("GET", "/api/v1/alarms"))["alarms"]
        assert (alarm["kind"], alarm["level"], alarm["request_id"]) == (
            "no_clinician_on_duty",
            "critical",
            leith["id"],
        )
        assert (alarm["area"], alarm["board"], alarm["resolved_at"]) == (LEITH, LOTHIAN, None)
        clock.advance(5)
        await glasgow.request("POST", f"/api/v1/requests/{leith['id']}/accept")
        assert (await supervisor.request("GET", "/api/v1/alarms"))["alarms"] == []
        (resolved,) = (await supervisor.request("GET", "/api/v1/alarms?status=all"))["alarms"]
        assert resolved["resolved_reason"] == "request_accepted"
        assert resolved["resolved_at"] == iso(clock.now_ms)
        assert await app[STORE].alarms.due_deliveries(clock.now_ms + 10**6) == []


async def test_a_board_left_without_staff_is_offered_to_everyone_when_noticed(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """A Lothian request made while Lothian was staffed is offered to Glasgow's clinician as
    soon as the sweep notices nobody covering Lothian is on duty any more (the alarm and the
    offer in one step), long before its overflow time; they hear of it and may accept it."""
    officer, glasgow = await people("officer"), await people("clinician", "glasgow")
    lothian = await people("clinician", "lothian")
    async with on_duty(glasgow):
        socket = await connect(glasgow)
        async with on_duty(lothian):
            created = await new_request(officer, **at("leith"), urgency="routine")
        path = f"/api/v1/requests/{created['id']}"
        await lothian.request("PUT", "/api/v1/availability", {"status": "offline"})
        assert (await glasgow.post(f"{path}/accept"))[0] == 404
        assert await check_alarms(app[STORE], settings, now_ms=clock()) == 1
        await socket.wait_for("request.created")
        assert (await glasgow.request("POST", f"{path}/accept"))["status"] == "in_session"
        await socket.close()


async def test_alarms_resolve_when_their_cause_ends(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """A long wait ends with the request's cancellation or expiry, an s298 notice due with
    its completion: each alarm is resolved with that reason (open list left, delivery
    stopped); the expiry raises its own alarm."""
    officer, clinician, supervisor = (
        await people("officer"),
        await people("clinician"),
        await people("supervisor"),
    )
    cancelled = await new_request(officer, **at("leith"), urgency="immediate")
    expiring = await new_request(officer, **at("govan"), urgency="immediate")
    clock.advance(61)  # past priority 1's escalation time
    assert await check_alarms(app[STORE], settings, now_ms=clock()) == 4
    await officer.request("POST", f"/api/v1/requests/{cancelled['id']}/cancel")
    assert await sweep_due(app[STORE], clock.now_ms + 3 * H, settings) == 1
    await create_account(app, Role.RECEIVER, team="crisis_team:lothian")  # a staffed team
    record = await assessed(officer, clinician, "leith", s297(clock.now_ms))
    clock.advance(3600)
    assert await check_alarms(app[STORE], settings, now_ms=clock()) == 1  # s298 due soon
    notice = record["notice_id"]
    await clinician.request("PATCH", f"/api/v1/referrals/{notice}", {"status": "completed"})
    alarms = (await supervisor.request("GET", "/api/v1/alarms?status=all"))["alarms"]
    reasons = sorted(
        (a["kind"], a["request_id"] or a["referral_id"], a["resolved_reason"]) for a in alarms
    )
    assert reasons == sorted(
        [
            ("long_wait", cancelled["id"], "request_cancelled"),
            ("no_clinician_on_duty", cancelled["id"], "request_cancelled"),
            ("long_wait", expiring["id"], "request_expired"),
            ("no_clinician_on_duty", expiring["id"], "request_expired"),
            ("expired", expiring["id"], None),
            ("s298_due", notice, "referral_completed"),
        ]
    )
    still_open = (await supervisor.request("GET", "/api/v1/alarms"))["alarms"]
    assert [a["kind"] for a in still_open] == ["expired"]


async def test_an_alarm_whose_cause_ended_is_not_raised(
    people: Any, app: web.Application, clock: FakeClock
) -> None:
    """A sweep that saw a request waiting but raises its alarm after it was accepted raises
    nothing: the raise checks, in its atomic step, that the request still waits."""
    officer, clinician = await people("officer"), await people("clinician")
    created = await new_request(officer, **at("leith"))
    await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    fields: dict[str, str | int] = {
        "id": "a1",
        "kind": "long_wait",
        "level": "warning",
        "request_id": created["id"],
        "referral_id": "",
        "message": "late",
        "raised_ms": clock.now_ms,
    }
    store = app[STORE]
    assert not await store.alarms.raise_once(
        "long_wait", created["id"], fields, deliver=[], now_ms=clock.now_ms
    )
    assert await store.alarms.newest("all") == []


async def test_webhook_body_names_area_and_board(
    people: Any, app: web.Application, settings: Settings, clock: FakeClock
) -> None:
    """The escalation webhook's body gives the request's area and board as `{id, name}`
    from the directory, and the alarm carries the same; no free text the officer typed."""
    officer = await people("officer")
    created = await new_request(officer, **at("leith"))
    await check_alarms(app[STORE], settings, now_ms=clock())
    (row,) = await app[STORE].alarms.newest("open")
    body = await escalation_body(app[STORE], row["id"], now_ms=clock(), areas=settings.areas)
    assert body is not None
    found = _json(body)
    assert found["request"] == {
        "id": created["id"],
        "priority": 2,
        "area": LEITH,
        "board": LOTHIAN,
        "waited_s": 0.0,
    }
    assert (found["alarm"]["area"], found["alarm"]["board"]) == (LEITH, LOTHIAN)
    assert "somewhere" not in body.decode()  # the place the officer typed


def _json(body: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(body)
    return found


def _store(api: ApiClient) -> Any:
    server = api.client.server
    assert isinstance(server, TestServer)
    return server.app[STORE]
