"""The safety net: honest waiting with a phone fallback, and alarms as records raised once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    REDIS_URL,
    REQUEST_FORM,
    ApiClient,
    FakeClock,
    SignInFactory,
    create_account,
    in_session,
    log_in,
    new_request,
)
from support.sockets import Socket, connect, signed_in_on
from triage_client.forms import request_form
from triage_service.domain.codes import Role
from triage_service.domain.safety import (
    AlarmKind,
    AlarmLevel,
    FallbackReason,
    alarm_level,
    fallback_reason,
    honest_estimate,
    retry_after_s,
)
from triage_service.service.alarms import check_alarms
from triage_service.service.timers import sweep_due
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.web.app import create_app
from triage_service.web.state import STORE

T0 = 1_780_000_000_000
pytestmark = pytest.mark.settings(session_absolute_s=30 * 86400)


@pytest.fixture
def clock() -> FakeClock:
    """The test's clock."""
    return FakeClock(T0)


async def come_on_duty(clinician: ApiClient) -> Socket:
    """A clinician opens the live channel and goes available."""
    socket = await connect(clinician)
    status, _ = await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200
    return socket


def fallback_of(message: dict[str, object]) -> str | None:
    """The fallback reason of a `request.updated` message."""
    request = message["request"]
    assert isinstance(request, dict)
    fallback = request["fallback"]
    return None if fallback is None else str(fallback["reason"])


async def updated(socket: Socket, request_id: str, reason: str | None) -> dict[str, object]:
    """Wait for the officer's `request.updated` with that fallback reason."""

    def matches(message: dict[str, object]) -> bool:
        request = message.get("request")
        return (
            isinstance(request, dict)
            and request.get("id") == request_id
            and (fallback_of(message) == reason)
        )

    async with socket.arrived:
        await asyncio.wait_for(
            socket.arrived.wait_for(
                lambda: any(m["type"] == "request.updated" and matches(m) for m in socket.messages)
            ),
            5,
        )
    return next(m for m in socket.messages if m["type"] == "request.updated" and matches(m))


# ---- pure rules -----------------------------------------------------------------------------


def test_fallback_reasons_in_order() -> None:
    """Expired beats everything; nobody on duty is offered at once; else after the wait."""
    ask: dict[str, Any] = {"clinicians_on_duty": 1, "waited_s": 10.0, "fallback_after_s": 60}
    assert fallback_reason(status="waiting", **ask) is None
    assert (
        fallback_reason(status="waiting", **{**ask, "waited_s": 60.0}) is FallbackReason.LONG_WAIT
    )
    nobody = {**ask, "clinicians_on_duty": 0}
    assert fallback_reason(status="waiting", **nobody) is FallbackReason.NO_CLINICIAN_ON_DUTY
    assert fallback_reason(status="expired", **ask) is FallbackReason.EXPIRED
    assert fallback_reason(status="in_session", **nobody) is None


def test_estimate_is_honest() -> None:
    """No estimate with nobody on duty, and never past the time left before expiry."""
    assert honest_estimate(1200.0, clinicians_on_duty=0, remaining_s=800) is None
    assert honest_estimate(1200.0, clinicians_on_duty=2, remaining_s=800) == 800
    assert honest_estimate(30.0, clinicians_on_duty=2, remaining_s=800) == 30


def test_alarm_levels_and_backoff() -> None:
    """Critical: nobody on duty, priority 1 long waits and expiries; backoff doubles to a minute."""
    assert alarm_level(AlarmKind.NO_CLINICIAN_ON_DUTY) is AlarmLevel.CRITICAL
    assert alarm_level(AlarmKind.LONG_WAIT, priority=1) is AlarmLevel.CRITICAL
    assert alarm_level(AlarmKind.LONG_WAIT, priority=2) is AlarmLevel.WARNING
    assert alarm_level(AlarmKind.EXPIRED, priority=1) is AlarmLevel.CRITICAL
    assert alarm_level(AlarmKind.REFERRAL_OVERDUE) is AlarmLevel.WARNING
    assert [retry_after_s(n) for n in (1, 2, 3, 7, 20)] == [1, 2, 4, 60, 60]


# ---- honest waiting -------------------------------------------------------------------------


@pytest.mark.settings(fallback_after_s="1:60,2:300,3:600", max_wait_s=900)
# The fake clock jumps minutes at a time; presence leases (renewed every few real seconds)
# must outlive the jumps, as they would in real time.
@pytest.mark.settings(presence_lease_s=3600)
async def test_fallback_follows_who_is_on_duty_and_the_wait(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Nobody on duty: the fallback at once and no estimate. A clinician comes on duty: the
    officer's socket hears it and the fallback goes. Past the priority's fallback time: the
    long-wait fallback, pushed by the timer. The clinician goes offline: nobody on duty again."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    created = await new_request(officer)  # priority 2: fallback after 300 s
    assert created["fallback"]["reason"] == "no_clinician_on_duty"
    assert "0800 000 0000" in created["fallback"]["message"]
    assert created["estimated_wait_s"] is None and created["clinicians_on_duty"] == 0
    officer_socket = await connect(officer)
    clinician_socket = await come_on_duty(clinician)
    message = await updated(officer_socket, created["id"], None)
    request = message["request"]
    assert isinstance(request, dict) and request["clinicians_on_duty"] == 1
    assert 0 < request["estimated_wait_s"] <= 900
    clock.advance(301)
    message = await updated(officer_socket, created["id"], "long_wait")
    _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
    assert seen["fallback"]["reason"] == "long_wait" and seen["status"] == "waiting"
    assert seen["estimated_wait_s"] <= 599  # never past the expiry
    await clinician.call("PUT", "/api/v1/availability", {"status": "offline"})
    await updated(officer_socket, created["id"], "no_clinician_on_duty")
    clock.advance(600)
    message = await updated(officer_socket, created["id"], "expired")
    for socket in (officer_socket, clinician_socket):
        await socket.close()


async def test_on_duty_needs_a_live_socket(sign_in: SignInFactory) -> None:
    """Available without a socket is not on duty; the socket closing takes them off duty."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    created = await new_request(officer)
    assert created["clinicians_on_duty"] == 0
    socket = await connect(clinician)
    _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
    assert seen["clinicians_on_duty"] == 1 and seen["fallback"] is None
    await socket.close()
    for _ in range(50):
        _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
        if seen["clinicians_on_duty"] == 0:
            break
        await asyncio.sleep(0.02)
    assert seen["fallback"]["reason"] == "no_clinician_on_duty"


# ---- alarms ---------------------------------------------------------------------------------


# The app's own sweeper sleeps through the test: the test's eight sweeps are the only racers.
@pytest.mark.settings(sweep_interval_s=3600)
async def test_alarm_raised_once_by_racing_sweepers(
    app: web.Application, settings: Settings, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Eight sweeps on two Redis connections at once raise each alarm exactly once."""
    officer = await sign_in("officer")
    created = await new_request(officer, urgency="immediate")
    clock.advance(120)  # past priority 1's escalation time
    other = Store(aioredis.Redis.from_url(REDIS_URL, decode_responses=True), settings.key_prefix)
    stores = [app[STORE], other] * 4
    raised = await asyncio.gather(
        *(check_alarms(store, settings, now_ms=clock()) for store in stores)
    )
    await other.client.aclose()
    assert sum(raised) == 2
    rows = await app[STORE].alarms.newest("all")
    kinds = sorted((row["kind"], row["request_id"], row["level"]) for row in rows)
    assert kinds == [
        ("long_wait", created["id"], "critical"),
        ("no_clinician_on_duty", created["id"], "critical"),
    ]


async def test_two_instances_raise_one_alarm_and_supervisors_hear_it(
    server: TestServer, second_server: TestServer, sign_in: SignInFactory
) -> None:
    """Both instances sweep the same Redis; one `no_clinician_on_duty` alarm is raised, and a
    supervisor on either instance is told over the live channel."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    user = await create_account(second_server.app, Role.SUPERVISOR)
    remote = await log_in(second_server, user)
    sockets = [await connect(supervisor), await connect(remote)]
    created = await new_request(officer)
    for socket in sockets:
        message = await socket.wait_for("alarm", timeout=10)  # at the next sweep
        assert message["alarm"]["kind"] == "no_clinician_on_duty"
        assert message["alarm"]["request_id"] == created["id"]
    await asyncio.sleep(0.5)  # five more sweeps on each instance
    status, body = await supervisor.get("/api/v1/alarms?status=all")
    assert status == 200
    assert [a["kind"] for a in body["alarms"]] == ["no_clinician_on_duty"]
    for socket in sockets:
        await socket.close()
    await remote.client.close()


def at_clock(clock: FakeClock, seconds: float = 0) -> str:
    """The test clock's time (plus `seconds`) as UTC ISO-8601."""
    when = datetime.fromtimestamp(clock() / 1000 + seconds, UTC)
    return when.isoformat().replace("+00:00", "Z")


async def test_an_overdue_referral_raises_one_alarm_pushed_to_supervisors(
    app: web.Application, settings: Settings, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A referral past its due time, still open, raises exactly one `referral_overdue` alarm
    record (whichever of several racing sweeps gets there), naming the referral, and a
    supervisor's live channel hears it; none is raised before it is due."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    await sign_in("receiver", team="crisis_team:default")  # the team is staffed
    supervisor = await sign_in("supervisor")
    socket = await connect(supervisor)
    request = await in_session(officer, clinician)
    referral = {"service": "crisis_team", "urgency": "C", "due_at": at_clock(clock, 60)}
    path = f"/api/v1/requests/{request['id']}/outcome"
    status, done = await clinician.post(path, {**OUTCOME_FORM, "referral": referral})
    assert status == 201, done
    referral_id = done["referral"]["id"]
    store = app[STORE]
    assert await check_alarms(store, settings, now_ms=clock()) == 0
    clock.advance(61)
    await asyncio.gather(*(check_alarms(store, settings, now_ms=clock()) for _ in range(4)))
    rows = [r for r in await store.alarms.newest("all") if r["kind"] == "referral_overdue"]
    assert [(r["referral_id"], r["level"]) for r in rows] == [(referral_id, "warning")]
    told = await socket.wait_for("alarm")
    assert told["alarm"]["kind"] == "referral_overdue"
    assert told["alarm"]["referral_id"] == referral_id
    await socket.close()


async def test_an_s298_notice_due_soon_raises_its_alarm_record(
    app: web.Application, settings: Settings, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """An s297 removal opens its s298 notice due 14 days after the removal; 12 days on
    nothing is raised, within 2 days of the due time one `s298_due` alarm record names the
    notice (raised once, however often the sweep runs)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    place = {
        "name": "Royal Edinburgh Hospital",
        "address": "Morningside Terrace, Edinburgh",
        "is_police_station": False,
        "removed_at": at_clock(clock, -600),
        "person_name": "Jane Doe",
        "person_address": "1 High St",
        "circumstances": "On the bridge parapet, a public place.",
    }
    removal = {
        **OUTCOME_FORM,
        "triage_code": "B",
        "disposition": "place_of_safety_s297",
        "referral": None,
        "conveyance": "police",
        "place_of_safety": place,
    }
    status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", removal)
    assert status == 201, done
    store = app[STORE]
    record = await store.requests.load(request["id"])
    assert record is not None
    notice_id = record.notice_id
    removed_ms = clock() - 600_000
    for days, raised in ((11.9, 0), (12.1, 1), (12.5, 0), (15, 0)):
        now_ms = removed_ms + int(days * 86_400_000)
        assert await check_alarms(store, settings, now_ms=now_ms) == raised, days
    rows = [r for r in await store.alarms.newest("all") if r["kind"] == "s298_due"]
    assert [(r["referral_id"], r["level"]) for r in rows] == [(notice_id, "warning")]
    assert "due within 2 days" in rows[0]["message"]


async def test_acknowledge_once_then_409(sign_in: SignInFactory) -> None:
    """A supervisor acknowledges with a note (it leaves the open list, stays in all); a second
    acknowledgement is 409 already_acknowledged; other roles may not; unknown ids are 404."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    clinician = await sign_in("clinician")
    socket = await connect(supervisor)  # before the alarm can be raised, so it hears it
    await new_request(officer)
    raised = (await socket.wait_for("alarm", timeout=10))["alarm"]
    status, _ = await clinician.get("/api/v1/alarms")
    assert status == 403
    status, body = await supervisor.get("/api/v1/alarms?status=sometimes")
    assert status == 422 and "status" in body["error"]["fields"]
    status, acked = await supervisor.post(f"/api/v1/alarms/{raised['id']}/ack", {"note": "rang"})
    assert status == 200, acked
    assert acked["acknowledged_by"]["id"] == supervisor.user.id and acked["note"] == "rang"
    assert acked["acknowledged_at"] is not None
    async with socket.arrived:
        await asyncio.wait_for(
            socket.arrived.wait_for(
                lambda: any(
                    m["type"] == "alarm" and m["alarm"]["acknowledged_at"] for m in socket.messages
                )
            ),
            3,
        )
    status, again = await supervisor.post(f"/api/v1/alarms/{raised['id']}/ack")
    assert status == 409 and again["error"]["code"] == "already_acknowledged"
    status, _ = await supervisor.post("/api/v1/alarms/nope/ack")
    assert status == 404
    _, open_now = await supervisor.get("/api/v1/alarms")
    assert raised["id"] not in [a["id"] for a in open_now["alarms"]]
    _, everything = await supervisor.get("/api/v1/alarms?status=all")
    assert raised["id"] in [a["id"] for a in everything["alarms"]]
    await socket.close()


# ---- a call never loses its outcome ---------------------------------------------------------


async def test_open_socket_keeps_the_session_alive(
    sign_in: SignInFactory, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activity on an open /ws refreshes the sign-in's idle timeout."""
    clinician = await sign_in("clinician")
    store = app[STORE]
    [key] = [k async for k in store.client.scan_iter(match=store.keys("sess:*"))]
    socket = await connect(clinician)
    await store.client.expire(key, 5)  # nearly idle for too long
    await socket.ws.send_json({"type": "ping"})
    await socket.wait_for("pong")
    assert await store.client.ttl(key) > 1000
    await socket.close()


async def test_absolute_lifetime_still_ends_the_socket(
    sign_in: SignInFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the absolute lifetime the socket is closed (4401) instead of kept alive."""
    from triage_service.live.hub import SESSION_ENDED

    clinician = await sign_in("clinician")
    socket = await connect(clinician)
    clock.advance(31 * 86400)
    await socket.ws.send_json({"type": "ping"})
    await asyncio.wait_for(socket.reader, 3)
    assert socket.ws.close_code == SESSION_ENDED


async def test_no_false_alarm_while_the_clinician_moves_between_pages(
    app: web.Application, settings: Settings, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """The only clinician's socket closing (the console giving way to the session page) raises
    no `no_clinician_on_duty` alarm during their grace period, while the officer is told at
    once; if they do not come back, the alarm is raised once the grace has run out."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    socket = await come_on_duty(clinician)
    created = await new_request(officer)
    assert created["clinicians_on_duty"] == 1
    await socket.close()
    clock.advance(1)
    seen = await officer.request("GET", f"/api/v1/requests/{created['id']}")
    assert seen["clinicians_on_duty"] == 0 and seen["fallback"]["reason"] == "no_clinician_on_duty"

    async def no_one_alarms() -> list[Any]:
        await check_alarms(app[STORE], settings, now_ms=clock())
        rows = await app[STORE].alarms.newest("all")
        return [r for r in rows if r["kind"] == AlarmKind.NO_CLINICIAN_ON_DUTY]

    assert await no_one_alarms() == []
    clock.advance(settings.clinician_grace_s)
    await sweep_due(app[STORE], clock(), settings)  # the grace timer fires: offline
    assert len(await no_one_alarms()) == 1


@pytest.mark.settings(presence_lease_s=3600)
async def test_a_create_answered_503_keeps_its_fallback_and_overflow_timers(
    sign_in: SignInFactory,
    settings: Settings,
    clock: FakeClock,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """A create that Redis made but the instance answered 503 (it requires a replica and the
    real Redis has none: WAIT says 0) set its fallback and overflow timers in the same step:
    the retry with the same Idempotency-Key on a healthy instance answers 200 with that
    request, both timers are due at the priority's times, and past the fallback time the
    officer's socket hears the long-wait fallback."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    clinician_socket = await come_on_duty(clinician)
    officer_socket = await connect(officer)
    strict = TestServer(
        create_app(replace(settings, redis_min_replicas=1, redis_wait_ms=20), clock=clock)
    )
    await strict.start_server()
    try:
        on_strict = await signed_in_on(strict, officer)
        form = request_form(location={**REQUEST_FORM["location"], "area_id": "default"})
        key = {"Idempotency-Key": "made-but-503"}
        status, body = await on_strict.post("/api/v1/requests", form, headers=key)
        assert status == 503, body
        await on_strict.client.close()
    finally:
        await strict.close()
    status, created = await officer.post("/api/v1/requests", form, headers=key)
    assert status == 200 and created["priority"] == 2, created
    due = f"{key_prefix}due"
    assert await redis_client.zscore(due, f"fallback:{created['id']}") == T0 + 300_000
    assert await redis_client.zscore(due, f"overflow:{created['id']}") == T0 + 120_000
    clock.advance(301)
    await updated(officer_socket, created["id"], "long_wait")
    for socket in (officer_socket, clinician_socket):
        await socket.close()
