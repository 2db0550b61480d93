"""Pub/sub wake-ups: each instance listens and re-reads truth from Redis before sending.

Wake-ups are at-most-once; a client that reconnects re-reads state over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import STATS_ROLES, Availability, RequestStatus, Role
from triage_service.domain.safety import fallback_reason
from triage_service.domain.times import Clock
from triage_service.domain.users import User
from triage_service.live.hub import Hub
from triage_service.live.waiting import Estimator, Waiting, WaitingState
from triage_service.service import alarms, records, referrals
from triage_service.service.presence import clinicians_on_duty
from triage_service.service.routing import OVERFLOWED
from triage_service.store import RequestRecord
from triage_service.store.store import Store
from triage_service.store.wakes import (
    AlarmWake,
    AvailabilityWake,
    ChatWake,
    FallbackWake,
    ReferralWake,
    RequestWake,
    SessionEndedWake,
    SignalWake,
    Wake,
    parse,
)

log = logging.getLogger(__name__)
REQUEST_EVENTS = frozenset(
    {"created", "accepted", "cancelled", "released", "expired", "completed", OVERFLOWED}
)
BATCH_MAX = 256  # wake-ups already received are served together, their records read at once
COALESCE_S = 0.05
RESUBSCRIBE_FIRST_S = 0.05
RESUBSCRIBE_MAX_S = 0.5
BROADCAST_DUTY = 0.2  # at most this share of the loop goes to queue broadcasts under load
YIELD_EVERY = 16  # officer messages sent between yields, so other wake-ups are not held up


class Dispatcher:
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
    ) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        self.phone_fallback = phone_fallback
        self.areas = areas
        self.fallback_after_s: Mapping[int, int] = fallback_after_s or {}
        self.queue_dirty = asyncio.Event()
        # request id → its officer, creation, expiry and priority: none of them change.
        self.owners: dict[str, Waiting] = {}
        # request id → (position, clinicians on duty, fallback reason) its officer was last told.
        self.told: dict[str, WaitingState] = {}
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
        for wake in wakes:
            try:
                await self.dispatch(wake, found.get(_record_id(wake) or ""))
            except (aioredis.ConnectionError, OSError):
                raise
            except Exception:
                log.exception("could not dispatch wake-up %.200s", wake)

    async def _records(self, wakes: list[Wake]) -> dict[str, RequestRecord]:
        """The records the wake-ups name, by id (none if Redis refuses, short of a lost
        connection, which the listener handles)."""
        ids = list(dict.fromkeys(rid for rid in map(_record_id, wakes) if rid))
        if not ids:
            return {}
        try:
            return {r["id"]: r for r in await records.load_many(self.store, ids)}
        except aioredis.ConnectionError:
            raise
        except aioredis.RedisError:
            log.exception("could not read the records of %d wake-ups", len(ids))
            return {}

    async def dispatch(self, wake: Wake, record: RequestRecord | None) -> None:
        """Handle one wake-up; `record` is the request it names, as just read."""
        if isinstance(wake, SignalWake):
            await self.hub.send_to_user(
                wake.to,
                {
                    "type": "signal",
                    "request_id": wake.request_id,
                    "from_role": wake.from_role,
                    "data": wake.data,
                },
            )
        elif isinstance(wake, SessionEndedWake):
            await self.hub.close_sessions(list(wake.tokens))
        elif isinstance(wake, ChatWake) and record is not None:
            await self._chat(wake, record)
        elif isinstance(wake, RequestWake) and wake.kind in REQUEST_EVENTS:
            if record is not None:
                await self._request_changed(wake.kind, record, wake.actor)
            self.queue_dirty.set()
        elif isinstance(wake, AlarmWake):
            await self._alarm(wake.alarm_id)
        elif isinstance(wake, ReferralWake):
            await self._referral(wake.referral_id)
        elif isinstance(wake, AvailabilityWake | FallbackWake):
            self.queue_dirty.set()

    async def _chat(self, wake: ChatWake, record: RequestRecord) -> None:
        message = {"type": "chat.message", "request_id": record["id"], "message": wake.message}
        for user_id in {record["officer_id"], record.get("clinician_id", "")} - {""}:
            await self.hub.send_to_user(user_id, message)

    async def _request_changed(self, kind: str, record: RequestRecord, actor: str | None) -> None:
        staff_type = "request.created" if kind in ("created", OVERFLOWED) else "request.updated"
        # The assigned clinician gets the full record below instead of the summary.
        assigned = {record.get("clinician_id") or ""}
        # Clinicians see a request's place and reference only while it waits (need-to-know).
        waiting = record["status"] == RequestStatus.WAITING
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            identifying = role is Role.CLINICIAN and waiting
            item = records.queue_item(record, self.clock(), identifying=identifying)
            summary = {**item.model_dump(mode="json"), "status": record["status"]}
            await self.hub.send_to_role(
                role,
                {"type": staff_type, "request": summary},
                exclude=assigned,
                where=self._told_of(kind, record),
            )
        for user_id in {record["officer_id"], record.get("clinician_id") or "", actor or ""}:
            await self._send_full(user_id, record)

    def _told_of(self, kind: str, record: RequestRecord) -> Callable[[User], bool] | None:
        """Which staff hear of a waiting request: those it is offered to now (on overflow,
        only those it is new to); any change after it was taken, every clinician and the
        supervisors covering its board."""
        if record["status"] != "waiting":
            board = record.get("board") or ""
            return lambda user: (
                user.role is not Role.SUPERVISOR or not user.boards or board in user.boards
            )
        now = self.clock()
        if kind != OVERFLOWED:
            return lambda user: records.offered_to_user(user, record, now)
        board = record.get("board") or ""
        return lambda user: (
            user.role is Role.CLINICIAN and bool(user.boards) and board not in user.boards
        )

    async def _send_full(self, user_id: str, record: RequestRecord) -> None:
        if not user_id or not self.hub.is_connected(user_id):
            return
        sockets = self.hub.by_user[user_id]
        viewer = self.hub.users[next(iter(sockets))]
        if viewer.role is Role.CLINICIAN and not records.is_assigned(viewer, record):
            return  # already told through the staff summary
        if not records.may_see(viewer, record):
            return
        shaped = await records.shape_for(
            self.store,
            record,
            viewer,
            phone_fallback=self.phone_fallback,
            now_ms=self.clock(),
            fallback_after_s=self.fallback_after_s,
            areas=self.areas,
        )
        if viewer.role is Role.OFFICER and shaped.position is not None:
            reason = shaped.fallback.reason if shaped.fallback else None
            self.told[record["id"]] = (shaped.position, shaped.clinicians_on_duty or 0, reason)
        await self.hub.send_to_user(
            user_id, {"type": "request.updated", "request": shaped.model_dump(mode="json")}
        )

    async def _alarm(self, alarm_id: str) -> None:
        """An alarm was raised or acknowledged: tell the supervisors connected here."""
        if not any(self.hub.has_role(role) for role in STATS_ROLES):
            return
        alarm = await alarms.get_alarm(self.store, alarm_id)
        if alarm is None:
            return
        for role in STATS_ROLES:
            await self.hub.send_to_role(
                role, {"type": "alarm", "alarm": alarm.model_dump(mode="json")}
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
            told = referrals.for_team(shaped, outcome)
            await self.hub.send_to_team(
                row["team"], {"type": "referral", "referral": told.model_dump(mode="json")}
            )
        if row.get("clinician_id"):
            await self.hub.send_to_user(
                row["clinician_id"],
                {"type": "referral", "referral": shaped.model_dump(mode="json")},
            )

    async def broadcast_queue(self) -> None:
        """Send `queue.changed` to staff, and each waiting officer their position and honest
        wait; an officer whose position, clinicians on duty or fallback changed also gets the
        whole request (`request.updated`)."""
        now = self.clock()
        ids, queue = await self.store.requests.queue()
        owners = await self._owners(ids)
        on_duty = await clinicians_on_duty(self.store, now_ms=now)
        oldest = min((w.created_ms for w in owners), default=None)
        base = {
            "type": "queue.changed",
            "waiting": len(ids),
            "longest_wait_s": round((now - oldest) / 1000, 1) if oldest else 0.0,
        }
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            await self.hub.send_to_role(role, base)
        history = Estimator(
            sorted(ms / 1000 for ms in queue.waits_ms),
            sorted(ms / 1000 for ms in queue.sessions_ms),
            queue.states.count(Availability.AVAILABLE.value),
            queue.states.count(Availability.BUSY.value),
            on_duty,
        )
        changed = await self._tell_officers(ids, owners, base, history, now)
        await self._send_changed(changed)
        self.told = {rid: told for rid, told in self.told.items() if rid in self.owners}

    async def _tell_officers(
        self,
        ids: list[str],
        owners: list[Waiting],
        base: dict[str, Any],
        history: Estimator,
        now: int,
    ) -> list[str]:
        """Each connected officer's `queue.changed`; the requests whose state they must hear."""
        changed = []
        for position, (request_id, waiting) in enumerate(zip(ids, owners, strict=True), 1):
            if not self.hub.is_connected(waiting.officer_id):
                continue
            await self.hub.send_to_user(
                waiting.officer_id,
                {
                    **base,
                    "request_id": request_id,
                    "position": position,
                    "estimated_wait_s": history.estimate(position, waiting, now),
                    "clinicians_on_duty": history.on_duty,
                },
            )
            reason = fallback_reason(
                status="waiting",
                clinicians_on_duty=history.on_duty,
                waited_s=(now - waiting.created_ms) / 1000,
                fallback_after_s=self.fallback_after_s.get(waiting.priority),
            )
            if self.told.get(request_id) != (position, history.on_duty, reason):
                changed.append(request_id)
            if position % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return changed

    async def _send_changed(self, request_ids: list[str]) -> None:
        """The whole request to officers whose waiting state changed (read in one trip)."""
        if not request_ids:
            return
        for record in await records.load_many(self.store, request_ids):
            if record["status"] == "waiting":
                await self._send_full(record["officer_id"], record)

    async def _owners(self, ids: list[str]) -> list[Waiting]:
        """Officer, creation, expiry and priority of each request, read from Redis only once."""
        missing = [request_id for request_id in ids if request_id not in self.owners]
        if missing:
            names = ("officer_id", "created_ms", "expire_ms", "priority")
            for request_id, row in zip(
                missing, await self.store.requests.fields_of(missing, names), strict=True
            ):
                self.owners[request_id] = Waiting(
                    row["officer_id"] or "",
                    int(row["created_ms"] or 0),
                    int(row["expire_ms"] or 0),
                    int(row["priority"] or 3),
                )
        self.owners = {request_id: self.owners[request_id] for request_id in ids}
        return list(self.owners.values())


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
        await dispatcher.dispatch_batch(batch)


async def broadcast_queue_changes(dispatcher: Dispatcher) -> None:
    """Broadcast at once on a change, then coalesce: a broadcast costs one message per waiting
    officer, so the pause after it grows with its cost and busy queues cannot hog the loop."""
    loop = asyncio.get_running_loop()
    while True:
        await dispatcher.queue_dirty.wait()
        dispatcher.queue_dirty.clear()
        started = loop.time()
        try:
            await dispatcher.broadcast_queue()
        except (aioredis.RedisError, OSError) as e:
            log.warning("queue broadcast failed: %s", e)
        spent = loop.time() - started
        await asyncio.sleep(max(COALESCE_S, spent * (1 - BROADCAST_DUTY) / BROADCAST_DUTY))


def _record_id(wake: Wake) -> str | None:
    """The request whose record is read before this wake-up is sent, if any."""
    if isinstance(wake, ChatWake) or (
        isinstance(wake, RequestWake) and wake.kind in REQUEST_EVENTS
    ):
        return wake.request_id or None
    return None
