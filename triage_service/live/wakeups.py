"""Pub/sub wake-ups: each instance listens and re-reads truth from Redis before sending.

Wake-ups are at-most-once; a client that reconnects re-reads state over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import STATS_ROLES, RequestStatus, Role
from triage_service.domain.times import Clock
from triage_service.domain.users import User
from triage_service.live.foreground import Foreground
from triage_service.live.hub import Hub
from triage_service.live.queue_news import QueueNews
from triage_service.live.transfers import tell_transfer
from triage_service.service import alarms, records, referrals
from triage_service.service.routing import OVERFLOWED
from triage_service.store import Request
from triage_service.store.store import Store
from triage_service.store.wakes import (
    AlarmWake,
    AvailabilityWake,
    ChatWake,
    FallbackWake,
    PushWake,
    ReferralWake,
    RequestWake,
    SessionEndedWake,
    SignalWake,
    TransferWake,
    Wake,
    parse,
)

log = logging.getLogger(__name__)
REQUEST_EVENTS = frozenset(
    {"created", "accepted", "cancelled", "released", "expired", "completed", "transferred"}
    | {OVERFLOWED}
)
BATCH_MAX = 256  # wake-ups already received are served together, their records read at once
COALESCE_S = 0.05
BROADCAST_DUTY = 0.2  # at most this share of the loop goes to queue broadcasts under load
BROADCAST_BURST_S = 0.25  # broadcasting time a quiet spell may save up for the next changes
# A queue broadcast waits this long after the change that called for it: the pushes of that
# change, and of the changes that follow it at once (an accept, its chat, its outcome), go
# first, and a burst of changes is one broadcast.
SETTLE_S = 0.02
RESUBSCRIBE_FIRST_S = 0.05
RESUBSCRIBE_MAX_S = 0.5


class Dispatcher(QueueNews):
    """Turns wake-ups into live messages for this instance's sockets."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        clock: Clock,
        *,
        phone_fallback: str,
        fallback_after_s: Mapping[int, int] | None = None,
        areas: AreaDirectory | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        super().__init__(
            store,
            hub,
            clock,
            phone_fallback=phone_fallback,
            fallback_after_s=fallback_after_s,
            areas=areas,
            foreground=foreground,
        )
        # request id → who else is in its call, as read for the wake-ups being served.
        self.others: dict[str, list[str]] = {}
        # Whether the wake-up listener is subscribed now (readiness reports it).
        self.subscribed = False

    async def resubscribed(self, _connection: object) -> None:
        """The pub/sub connection came back: wake-ups published while it was down are lost,
        so every socket here is told to `resync` (re-read over REST) and the queue is sent."""
        log.info("pub/sub resubscribed; telling every socket to resync")
        self.subscribed = True
        self.queue_dirty.set()
        await self.hub.send_to_all({"type": "resync"})

    async def dispatch_batch(self, raw: list[str]) -> None:
        """Handle wake-ups in arrival order, reading every record they name in one round trip.

        Under load, wake-ups arrive faster than one Redis round trip each can serve them;
        batching keeps the live channel from falling behind. Each record is read after its
        wake-up was sent, so it is still the truth the clients are told.
        """
        wakes: list[Wake] = []
        for data in raw:
            wake = parse(data)
            if wake is None:
                log.warning("dropping malformed wake-up %.200s", data)
            else:
                wakes.append(wake)
        found = await self._records(wakes)
        self.others = await self._others(wakes, found)
        for wake in wakes:
            try:
                await self.dispatch(wake, found.get(_record_id(wake) or ""))
            except (aioredis.ConnectionError, OSError):
                raise
            except Exception:
                log.exception("could not dispatch wake-up %.200s", wake)

    async def _records(self, wakes: list[Wake]) -> dict[str, Request]:
        """The records the wake-ups name, by id (none if Redis refuses, short of a lost
        connection, which the listener handles)."""
        ids = list(dict.fromkeys(rid for rid in map(_record_id, wakes) if rid))
        if not ids:
            return {}
        try:
            return {r.id: r for r in await records.load_many(self.store, ids)}
        except aioredis.ConnectionError:
            raise
        except aioredis.RedisError:
            log.exception("could not read the records of %d wake-ups", len(ids))
            return {}

    async def _others(self, wakes: list[Wake], found: dict[str, Request]) -> dict[str, list[str]]:
        """Who else (consultants, guests) is in the calls whose chat or state these wake-ups
        change (a call just accepted, or of a request still waiting, has nobody else), read
        for the whole batch in one round trip rather than once per wake-up."""
        ids = [
            wake.request_id
            for wake in wakes
            if (
                isinstance(wake, ChatWake)
                or (isinstance(wake, RequestWake) and wake.kind != "accepted")
            )
            and wake.request_id in found
            and found[wake.request_id].status is not RequestStatus.WAITING
        ]
        if not ids:
            return {}
        try:
            return await self.store.participants.present_ids(list(dict.fromkeys(ids)))
        except aioredis.ConnectionError:
            raise
        except aioredis.RedisError:
            log.exception("could not read who else is in %d calls", len(ids))
            return {}

    async def _others_in(self, request_id: str) -> list[str]:
        """Who else is in the call now: from the batch's read, else read."""
        if request_id in self.others:
            return self.others[request_id]
        return list(await self.store.participants.present(request_id))

    async def dispatch(self, wake: Wake, record: Request | None) -> None:
        """Handle one wake-up; `record` is the request it names, as just read."""
        if isinstance(wake, SignalWake | PushWake):
            await self._to_call(wake)
        elif isinstance(wake, SessionEndedWake):
            await self.hub.close_sessions(list(wake.tokens))
        elif isinstance(wake, ChatWake) and record is not None:
            await self._chat(wake, record)
        elif isinstance(wake, RequestWake) and wake.kind in REQUEST_EVENTS:
            if wake.kind == OVERFLOWED:
                self.owners.pop(wake.request_id, None)  # its overflow time may have moved
            if record is not None:
                await self._request_changed(wake.kind, record, wake.actor)
            self.queue_dirty.set()
        elif isinstance(wake, AlarmWake | ReferralWake | TransferWake):
            await self._news(wake, record)
        elif isinstance(wake, AvailabilityWake | FallbackWake):
            self.queue_dirty.set()

    async def _to_call(self, wake: SignalWake | PushWake) -> None:
        """Signalling for one participant, or a push for some."""
        if isinstance(wake, PushWake):
            for user_id in wake.to:
                await self.hub.send_to_user(user_id, wake.message)
            return
        signal = {"type": "signal", "request_id": wake.request_id, "from_role": wake.from_role}
        await self.hub.send_to_user(
            wake.to, {**signal, "data": wake.data, **({"peer": wake.peer} if wake.peer else {})}
        )

    async def _chat(self, wake: ChatWake, record: Request) -> None:
        message = {"type": "chat.message", "request_id": record.id, "message": wake.message}
        extra = await self._others_in(record.id)
        for user_id in {record.officer_id, record.clinician_id or "", *extra} - {""}:
            await self.hub.send_to_user(user_id, message)

    async def _request_changed(self, kind: str, record: Request, actor: str | None) -> None:
        """Tell everyone concerned of a change: first those it is about (the officer and the
        clinician of a request that no longer waits get the whole request), then the staff
        summary to the clinicians and supervisors told of it."""
        # Clinicians see a request's place and reference only while it waits (need-to-know).
        waiting = record.status is RequestStatus.WAITING
        if waiting:
            # Its officer gets the whole request from the queue broadcast this change calls
            # for, with the place that broadcast computes for every waiting request.
            self.told.pop(record.id, None)
        else:
            # The officer first (waiting to hear their request was answered), then the
            # clinician, then whoever else made the change; each once.
            people = [record.officer_id, record.clinician_id or "", actor or ""]
            for user_id in dict.fromkeys(people):
                await self._send_full(user_id, record)
            # Consultants and guests re-read the call's state (it may have ended); a call
            # just accepted has nobody else in it yet.
            if kind != "accepted":
                changed = {"type": "participants.changed", "request_id": record.id}
                for user_id in await self._others_in(record.id):
                    await self.hub.send_to_user(user_id, changed)
        staff_type = "request.created" if kind in ("created", OVERFLOWED) else "request.updated"
        # The assigned clinician got the full record above instead of the summary.
        assigned = {record.clinician_id or ""}
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            if not self.hub.has_role(role):
                continue  # nobody of the role here: nothing to shape or encode
            identifying = role is Role.CLINICIAN and waiting
            item = records.queue_item(record, self.clock(), identifying=identifying)
            summary = {**item.model_dump(mode="json"), "status": record.status}
            await self.hub.send_to_role(
                role,
                {"type": staff_type, "request": summary},
                exclude=assigned,
                where=self._told_of(kind, record),
            )

    def _told_of(self, kind: str, record: Request) -> Callable[[User], bool] | None:
        """Which staff hear of a waiting request: those it is offered to now (on overflow,
        only those it is new to); of a change after it left the queue, those it was offered
        to when it left (the clinicians who had it in their queue, the supervisors covering
        its board)."""
        if record.status is not RequestStatus.WAITING:
            left = record.accepted_ms or record.completed_ms or self.clock()
            return lambda user: records.offered_to_user(user, record, left)
        now = self.clock()
        if kind != OVERFLOWED:
            return lambda user: records.offered_to_user(user, record, now)
        board = record.board or ""
        return lambda user: (
            user.role is Role.CLINICIAN and bool(user.boards) and board not in user.boards
        )

    async def _news(
        self, wake: AlarmWake | ReferralWake | TransferWake, record: Request | None
    ) -> None:
        """An alarm, a referral or a transfer changed: tell those it concerns."""
        if isinstance(wake, AlarmWake):
            await self._alarm(wake.alarm_id)
        elif isinstance(wake, ReferralWake):
            await self._referral(wake.referral_id)
        else:
            await tell_transfer(self.hub, wake, record, self.clock())

    async def _alarm(self, alarm_id: str) -> None:
        """An alarm was raised, acknowledged or resolved: tell the supervisors connected here
        who cover its board."""
        if not any(self.hub.has_role(role) for role in STATS_ROLES):
            return
        alarm = await alarms.get_alarm(self.store, alarm_id, self.areas)
        if alarm is None:
            return
        for role in STATS_ROLES:
            await self.hub.send_to_role(
                role,
                {"type": "alarm", "alarm": alarm.model_dump(mode="json")},
                where=lambda user: alarms.sees_alarm(user, alarm),
            )

    async def _referral(self, referral_id: str) -> None:
        """A referral was opened or moved on: `referral` to its team's receivers connected
        here (with the handover) and to the clinician who made it."""
        row = await self.store.referrals.load(referral_id)
        if not row:
            return
        now = self.clock()
        shaped = referrals.shape_referral(row, now)
        if row.get("team") and self.hub.has_role(Role.RECEIVER):
            (outcome,) = await self.store.referrals.outcomes([row["request_id"]])
            (area,) = await referrals.areas_of(self.store, self.areas, [row["request_id"]])
            told = referrals.for_team(shaped, outcome, area)
            await self.hub.send_to_team(
                row["team"], {"type": "referral", "referral": told.model_dump(mode="json")}
            )
        if row.get("clinician_id"):
            await self.hub.send_to_user(
                row["clinician_id"],
                {"type": "referral", "referral": shaped.model_dump(mode="json")},
            )


async def listen(dispatcher: Dispatcher) -> None:
    """Serve wake-ups until cancelled, resubscribing when the connection drops.

    Wake-ups published while the subscription was down are lost, so after a resubscription
    every open socket is told to `resync` (re-read its state over REST) and the queue is
    broadcast again. The retry delay stays short (at most `RESUBSCRIBE_MAX_S`): REST accepts
    writes as soon as Redis is back, and their pushes must not be lost meanwhile.
    """
    channel = dispatcher.store.keys.wake
    delay, lost = RESUBSCRIBE_FIRST_S, False
    while True:
        pubsub = dispatcher.store.pubsub()
        try:
            await pubsub.subscribe(channel)
            dispatcher.subscribed = True
            delay = RESUBSCRIBE_FIRST_S
            dispatcher.queue_dirty.set()  # anything missed while away: resend the queue
            # redis-py may also reconnect (and resubscribe) by itself inside `listen()`.
            if pubsub.connection is not None:
                pubsub.connection.register_connect_callback(dispatcher.resubscribed)
            if lost:
                await dispatcher.resubscribed(pubsub.connection)
                lost = False
            await _serve_wakes(dispatcher, pubsub)
        except (aioredis.ConnectionError, OSError) as e:
            lost, dispatcher.subscribed = True, False
            log.warning("pub/sub connection lost (%s); resubscribing in %.2f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX_S)
        finally:
            dispatcher.subscribed = False
            with contextlib.suppress(aioredis.RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _serve_wakes(dispatcher: Dispatcher, pubsub: PubSub) -> None:
    async for message in pubsub.listen():
        batch = [message["data"]]
        while len(batch) < BATCH_MAX and (more := await pubsub.get_message(timeout=0.0)):
            batch.append(more["data"])
        with dispatcher.foreground.serving():
            await dispatcher.dispatch_batch(batch)


class BroadcastPace:
    """How long the next queue broadcast waits so that broadcasts take at most `duty` of the
    loop over time: each one's duration is owed, and paid back at `duty` per second of wall
    time; a broadcast starts at once while at most `burst_s` is owed. A change after a quiet
    spell is told at once, however dear the last broadcast was; a busy queue is paced."""

    def __init__(self, duty: float = BROADCAST_DUTY, burst_s: float = BROADCAST_BURST_S) -> None:
        self.duty = duty
        self.burst_s = burst_s
        self.owed_s = 0.0
        self.at = 0.0  # when `owed_s` was last paid down (nothing is owed before the first)

    def _pay(self, now: float) -> None:
        self.owed_s = max(0.0, self.owed_s - (now - self.at) * self.duty)
        self.at = now

    def wait_s(self, now: float) -> float:
        """How long a broadcast wanted at `now` waits."""
        self._pay(now)
        return max(0.0, self.owed_s - self.burst_s) / self.duty

    def spent(self, seconds: float, now: float) -> None:
        """A broadcast that ended at `now` took `seconds`."""
        self._pay(now)
        self.owed_s += seconds


async def broadcast_queue_changes(dispatcher: Dispatcher) -> None:
    """Broadcast shortly after a change (`SETTLE_S`, once its own pushes are out), or later
    when broadcasts have taken their share of the loop (`BroadcastPace`: one message per
    waiting officer, so busy queues cannot hog it); changes meanwhile make one broadcast."""
    loop, pace = asyncio.get_running_loop(), BroadcastPace()
    while True:
        await dispatcher.queue_dirty.wait()
        await asyncio.sleep(max(SETTLE_S, pace.wait_s(loop.time())))
        dispatcher.queue_dirty.clear()
        started = loop.time()
        try:
            await dispatcher.broadcast_queue()
        except (aioredis.RedisError, OSError) as e:
            log.warning("queue broadcast failed: %s", e)
        pace.spent(loop.time() - started, loop.time())
        await asyncio.sleep(COALESCE_S)


def _record_id(wake: Wake) -> str | None:
    """The request whose record is read before this wake-up is sent, if any."""
    if isinstance(wake, ChatWake | TransferWake) or (
        isinstance(wake, RequestWake) and wake.kind in REQUEST_EVENTS
    ):
        return wake.request_id or None
    return None
