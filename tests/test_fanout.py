"""The queue fan-out to waiting officers: a change costs the same few store round trips
however many officers wait, and each officer is told what the REST API says of their request
(position, estimate, clinicians on duty and fallback, from the clinicians it is offered to);
the alarm check each sweep runs costs the same round trips however many requests wait."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from conftest import REDIS_URL, FakeClock
from support.forms import AREAS, DAY, at
from support.trips import Trips, counted_store
from triage_client.forms import SHORT_OUTCOME_FORM, request_form
from triage_service.domain.codes import Availability, Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.live import queue_news
from triage_service.live.foreground import Foreground
from triage_service.live.hub import Hub
from triage_service.live.queue_news import YIELD_EVERY
from triage_service.live.wakeups import BroadcastPace, Dispatcher
from triage_service.service import alarms, lifecycle, presence, records
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.wakes import ChatWake, RequestWake

H = 3_600_000


@dataclass(eq=False)
class Recorder:
    """A socket that keeps what the hub sends it (the hub's `Socket`)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    async def send_str(self, data: str) -> None:
        self.messages.append(json.loads(data))

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closed = True
        return True

    def last(self, kind: str) -> dict[str, Any]:
        """The last message of `kind`."""
        return [m for m in self.messages if m["type"] == kind][-1]


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Three boards from an areas file; leases that outlive the test."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL, key_prefix=key_prefix, areas_file=str(path), presence_lease_s=86400
    )


@pytest.fixture
def trips() -> Trips:
    """The round trips of this test's store."""
    return Trips()


@pytest.fixture
async def store(
    key_prefix: str, redis_client: aioredis.Redis, trips: Trips
) -> AsyncIterator[Store]:
    """The store on the test Redis, counting its round trips."""
    async with counted_store(key_prefix, trips) as counted:
        yield counted


class Scene:
    """Clinicians on duty, officers with a waiting request and a socket each, and the
    dispatcher that tells them (on a clock moved by hand)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.clock = FakeClock(DAY + 14 * H)
        self.hub = Hub()
        self.officers: dict[str, tuple[User, Recorder]] = {}  # request id -> officer, socket
        self.created = 0
        self.dispatcher = Dispatcher(
            store,
            self.hub,
            self.clock,
            phone_fallback=settings.phone_fallback,
            fallback_after_s=settings.fallback_thresholds,
            areas=settings.areas,
        )

    async def clinician(self, boards: str) -> User:
        """A clinician covering `boards` (empty: all), available with a live socket."""
        user = User(
            id=f"clin-{boards or 'all'}",
            username=f"clin-{boards or 'all'}",
            display_name="Clinician",
            role=Role.CLINICIAN,
            boards=tuple(b for b in boards.split(",") if b),
        )
        await self.store.client.hset(self.store.keys.user(user.id), "boards", boards)
        now = self.clock()
        await lifecycle.set_availability(self.store, user, Availability.AVAILABLE, now_ms=now)
        await presence.renew_leases(self.store, self.settings, [(user.id, "lease")], now_ms=now)
        return user

    async def officers_waiting(self, count: int, areas: tuple[str, ...]) -> None:
        """`count` more officers, each with a request from one of `areas` in turn and a
        socket open here."""
        for i in range(self.created, self.created + count):
            officer = User(
                id=f"off-{i}", username=f"off-{i}", display_name=f"Officer {i}", role=Role.OFFICER
            )
            form = RequestForm.model_validate(request_form(**at(areas[i % len(areas)])))
            record, _ = await lifecycle.create_request(
                self.store, self.settings, officer, form, now_ms=self.clock(), idempotency_key=None
            )
            socket = Recorder()
            self.hub.add(socket, officer, f"session-{i}")
            self.officers[record.id] = (officer, socket)
            self.clock.advance(1)
        self.created += count

    async def change(self, clinician: User) -> str:
        """`clinician` takes the first request they are offered; its wake-up is served and
        the queue broadcast: the request taken."""
        self.clock.advance(1)
        taken = await lifecycle.take_next(self.store, clinician, now_ms=self.clock())
        wake = RequestWake("accepted", taken.id, clinician.id)
        await self.dispatcher.dispatch_batch([wake.to_json()])
        await self.dispatcher.broadcast_queue()
        self.officers.pop(taken.id)
        return taken.id

    async def finish(self, clinician: User, request_id: str) -> None:
        """`clinician` files the outcome of the request they took (one session at a time)."""
        outcome = OutcomeForm.model_validate(SHORT_OUTCOME_FORM)
        self.clock.advance(1)
        await lifecycle.file_outcome(
            self.store, self.settings, clinician, request_id, outcome, now_ms=self.clock()
        )

    async def as_the_api_says(self, request_id: str) -> dict[str, Any]:
        """The request as GET /api/v1/requests/{id} shows its officer now."""
        officer, _ = self.officers[request_id]
        record = await records.load(self.store, request_id)
        assert record is not None
        shaped = await records.shape_for(
            self.store,
            record,
            officer,
            phone_fallback=self.settings.phone_fallback,
            now_ms=self.clock(),
            fallback_after_s=self.settings.fallback_thresholds,
            areas=self.settings.areas,
        )
        return shaped.model_dump(mode="json")


async def test_a_queue_change_costs_the_same_round_trips_for_4_or_40_waiting_officers(
    store: Store, settings: Settings, trips: Trips
) -> None:
    """A clinician taking a request, with its wake-up served and the queue broadcast to every
    waiting officer (each of whom moves up one place, so each gets `queue.changed` and the
    whole request), costs the same number of Redis round trips, at most 6, with 3 or 38
    officers still waiting in two boards."""
    scene = Scene(store, settings)
    clinician = await scene.clinician("")
    await scene.clinician("lothian")
    await scene.officers_waiting(5, ("leith", "govan"))
    await scene.dispatcher.broadcast_queue()
    # Every script used is loaded (a first use loads it).
    await scene.finish(clinician, await scene.change(clinician))
    spent = []
    for more in (0, 36):
        await scene.officers_waiting(more, ("leith", "govan"))
        await scene.dispatcher.broadcast_queue()  # everyone told once
        trips.sent = 0
        taken = await scene.change(clinician)
        spent.append(trips.sent)
        await scene.finish(clinician, taken)
        for _, socket in scene.officers.values():
            assert [m["type"] for m in socket.messages[-2:]] == [
                "queue.changed",
                "request.updated",
            ]
    assert len(scene.officers) == 38
    assert spent[0] == spent[1] <= 6, spent


async def test_each_waiting_officer_is_told_what_the_api_says_of_their_request(
    store: Store, settings: Settings
) -> None:
    """After a change, each waiting officer's `request.updated` is the request exactly as the
    REST API shows it to them, and their `queue.changed` has its position, estimate and
    clinicians on duty: per board while the requests wait within it (a Lothian request
    counts the Lothian clinician and the one of every board, a Glasgow request only the
    latter), and from every clinician once they overflow."""
    scene = Scene(store, settings)
    clinician = await scene.clinician("")
    await scene.clinician("lothian")
    await scene.officers_waiting(8, ("leith", "govan", "musselburgh"))
    await scene.dispatcher.broadcast_queue()
    on_duty = []
    for minutes in (0, 10):  # within their boards; then offered to every clinician
        scene.clock.advance(60 * minutes)
        taken = await scene.change(clinician)
        for request_id, (_, socket) in scene.officers.items():
            api = await scene.as_the_api_says(request_id)
            assert socket.last("request.updated")["request"] == api
            told = socket.last("queue.changed")
            assert told["request_id"] == request_id
            assert (told["position"], told["estimated_wait_s"], told["clinicians_on_duty"]) == (
                api["position"],
                api["estimated_wait_s"],
                api["clinicians_on_duty"],
            )
        on_duty.append(
            sorted(
                {s.last("queue.changed")["clinicians_on_duty"] for _, s in scene.officers.values()}
            )
        )
        await scene.finish(clinician, taken)
    assert on_duty == [[1, 2], [2]]


async def test_the_alarm_check_costs_the_same_round_trips_for_4_or_40_waiting_requests(
    store: Store, settings: Settings, trips: Trips
) -> None:
    """The alarm check the sweeper runs every second reads the waiting requests with their
    boards in one command (not one per request), so once their alarms are raised
    it costs the same with 4 or 40 waiting; it still finds the board nobody covers (each
    Glasgow request raises `no_clinician_on_duty` once, the Lothian ones none)."""
    scene = Scene(store, settings)
    await scene.clinician("lothian")
    spent, raised = [], []
    for more in (4, 36):
        await scene.officers_waiting(more, ("leith", "musselburgh", "leith", "govan"))
        raised.append(await alarms.check_alarms(store, settings, now_ms=scene.clock()))
        trips.sent = trips.commands = 0
        raised.append(await alarms.check_alarms(store, settings, now_ms=scene.clock()))
        spent.append((trips.sent, trips.commands))
    assert raised == [1, 0, 9, 0]
    assert spent[0] == spent[1], spent
    assert spent[0][1] <= 12, spent


@dataclass(eq=False)
class Raw:
    """A socket that keeps the very strings the hub sends it."""

    sent: list[str] = field(default_factory=list)
    closed: bool = False

    async def send_str(self, data: str) -> None:
        self.sent.append(data)

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closed = True
        return True


async def test_a_new_request_is_encoded_once_for_all_the_clinicians(
    store: Store, settings: Settings
) -> None:
    """The clinicians' `request.created` is encoded once per change, not once per socket:
    twenty clinicians connected get the very same string; the officer's `queue.changed` is
    exactly what json.dumps would write."""
    scene = Scene(store, settings)
    sockets = [Raw() for _ in range(20)]
    for i, socket in enumerate(sockets):
        user = User(id=f"c{i}", username=f"c{i}", display_name="C", role=Role.CLINICIAN)
        scene.hub.add(socket, user, f"clinician-session-{i}")
    await scene.officers_waiting(1, ("leith",))
    (request_id,) = scene.officers
    officer, _ = scene.officers[request_id]
    await scene.dispatcher.dispatch_batch(
        [RequestWake("created", request_id, officer.id).to_json()]
    )
    assert all(len(s.sent) == 1 for s in sockets)
    assert len({id(s.sent[0]) for s in sockets}) == 1
    assert json.loads(sockets[0].sent[0])["type"] == "request.created"
    # The officer's own `queue.changed`, put together from a shared part and their numbers,
    # is the very text json.dumps writes for it.
    officer_socket = Raw()
    scene.hub.add(officer_socket, officer, "officer-raw")
    await scene.dispatcher.broadcast_queue()
    (told,) = [t for t in officer_socket.sent if json.loads(t)["type"] == "queue.changed"]
    assert told == json.dumps(json.loads(told))
    assert json.loads(told)["request_id"] == request_id


async def test_chat_messages_served_together_read_the_calls_once_for_2_or_10_sessions(
    store: Store, settings: Settings, trips: Trips
) -> None:
    """Chat wake-ups served together (one per session in progress) cost the same round trips
    for 2 sessions or 10: their records in one read, who else is in their calls (consultants,
    guests) in one more, never one read per message."""
    scene = Scene(store, settings)
    spent = []
    for sessions in (2, 10):
        await scene.officers_waiting(sessions, ("leith", "govan"))
        taken: list[str] = []
        for request_id in list(scene.officers)[-sessions:]:
            clinician = await scene.clinician(f"c{len(taken)}-{sessions}")
            await lifecycle.accept_request(
                store, clinician, request_id, now_ms=scene.clock(), idempotency=None
            )
            taken.append(request_id)
        wakes = [ChatWake(rid, {"id": "m", "text": "hello"}).to_json() for rid in taken]
        trips.sent = 0
        await scene.dispatcher.dispatch_batch(wakes)
        spent.append(trips.sent)
    assert spent[0] == spent[1] <= 2, spent


def test_a_change_after_a_quiet_spell_is_broadcast_at_once_however_dear_the_last_was() -> None:
    """A broadcast of 0.1 s (500 officers) and another change 0.6 s later: no wait, where a
    pause of four times the last broadcast after each would have held it back."""
    pace = BroadcastPace(duty=0.2, burst_s=0.25)
    assert pace.wait_s(0.0) == 0.0
    pace.spent(0.1, now=0.1)
    assert pace.wait_s(0.15) == 0.0  # the outcome that follows at once
    pace.spent(0.02, now=0.17)
    assert pace.wait_s(0.7) == 0.0


def test_back_to_back_changes_get_at_most_their_share_of_the_loop() -> None:
    """Changes always pending and broadcasts of 50 ms each: over a minute, broadcasting takes
    its duty share (and the burst and one broadcast, once), no more."""
    pace, now, busy = BroadcastPace(duty=0.2, burst_s=0.25), 0.0, 0.0
    while now < 60.0:
        now += pace.wait_s(now)
        now += 0.05
        busy += 0.05
        pace.spent(0.05, now)
    assert 0.2 * 60.0 - 0.05 <= busy <= 0.2 * 60.0 + 0.25 + 0.05 + 1e-9


async def test_a_broadcast_gives_way_to_a_request_being_served_and_then_goes_on(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broadcast to 40 waiting officers that finds a request being served here sends no
    more officer messages until it is answered (at most `YIELD_EVERY` went before), then
    tells everyone; and however long a request takes, the broadcast gives way at most
    `give_way_max_s` at each point and `GIVE_WAY_BUDGET_S` in all, so a steady load never
    holds it up for long."""
    scene = Scene(store, settings)
    await scene.clinician("")
    await scene.officers_waiting(40, ("leith", "govan"))
    sockets = [socket for _, socket in scene.officers.values()]

    def told() -> int:
        return sum(1 for s in sockets for m in s.messages if m["type"] == "queue.changed")

    monkeypatch.setattr(queue_news, "GIVE_WAY_BUDGET_S", 60.0)
    foreground = scene.dispatcher.foreground = Foreground(give_way_max_s=60.0)
    with foreground.serving():  # a request arrives as the broadcast starts
        broadcast = asyncio.create_task(scene.dispatcher.broadcast_queue())
        await asyncio.sleep(0.2)
        assert told() <= YIELD_EVERY
        assert not broadcast.done()
    await asyncio.wait_for(broadcast, 2.0)
    assert told() == 40

    scene.dispatcher.foreground = Foreground(give_way_max_s=0.001)
    with scene.dispatcher.foreground.serving():  # a request that outlasts the broadcast
        await asyncio.wait_for(scene.dispatcher.broadcast_queue(), 2.0)
    assert told() == 80

    monkeypatch.setattr(queue_news, "GIVE_WAY_BUDGET_S", 0.05)
    scene.dispatcher.foreground = Foreground(give_way_max_s=60.0)
    with scene.dispatcher.foreground.serving():  # a steady load: the budget runs out
        await asyncio.wait_for(scene.dispatcher.broadcast_queue(), 2.0)
    assert told() == 120
    assert 0.05 <= scene.dispatcher.gave_way_s < 0.5


async def test_give_way_is_immediate_with_nothing_served_and_waits_while_something_is() -> None:
    """Nothing served: `give_way` only yields; one request served: it returns once that is
    answered, or after `give_way_max_s` or the budget, whichever comes first, with the time
    it waited."""
    foreground = Foreground(give_way_max_s=60.0)
    assert await asyncio.wait_for(foreground.give_way(60.0), 0.5) == 0.0
    with foreground.serving():
        waiting = asyncio.create_task(foreground.give_way(60.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
    assert 0.04 < await asyncio.wait_for(waiting, 0.5) < 0.5
    assert foreground.serving_now == 0
    capped = Foreground(give_way_max_s=0.01)
    with capped.serving():
        assert await asyncio.wait_for(capped.give_way(60.0), 0.5) < 0.5
        assert await asyncio.wait_for(foreground.give_way(0.0), 0.5) == 0.0
