"""Pub/sub wake-ups: each instance listens and re-reads truth from Redis before sending.

Wake-ups are at-most-once; a client that reconnects re-reads state over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis

from triage_service.domain.codes import Availability, Role
from triage_service.domain.rules import estimate_wait_s
from triage_service.domain.times import Clock
from triage_service.live.hub import Hub
from triage_service.service import records
from triage_service.store.store import Store

log = logging.getLogger(__name__)
REQUEST_EVENTS = frozenset({"created", "accepted", "cancelled", "released", "expired", "completed"})
QUEUE_EVENTS = REQUEST_EVENTS | {"availability"}
RECORD_WAKES = REQUEST_EVENTS | {"message"}  # wake-ups whose record is read before sending
BATCH_MAX = 256  # wake-ups already received are served together, their records read at once
COALESCE_S = 0.05
BROADCAST_DUTY = 0.2  # at most this share of the loop goes to queue broadcasts under load
YIELD_EVERY = 16  # officer messages sent between yields, so other wake-ups are not held up


class Dispatcher:
    """Turns wake-ups into live messages for this instance's sockets."""

    def __init__(self, store: Store, hub: Hub, clock: Clock, *, phone_fallback: str) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        self.phone_fallback = phone_fallback
        self.queue_dirty = asyncio.Event()
        # request id → (officer id, created ms) of the waiting requests: both never change.
        self.owners: dict[str, tuple[str, int]] = {}

    async def dispatch_batch(self, raw: list[str]) -> None:
        """Handle wake-ups in arrival order, reading every record they name in one round trip.

        Under load, wake-ups arrive faster than one Redis round trip each can serve them;
        batching keeps the live channel from falling behind. Each record is read after its
        wake-up was sent, so it is still the truth the clients are told.
        """
        wakes = []
        for data in raw:
            try:
                wake = json.loads(data)
            except json.JSONDecodeError:
                wake = None
            if isinstance(wake, dict):
                wakes.append(wake)
            else:
                log.warning("dropping malformed wake-up %.200s", data)
        found = await self._records(wakes)
        for wake in wakes:
            try:
                await self.dispatch(wake, found.get(wake.get("request_id") or ""))
            except (aioredis.ConnectionError, OSError):
                raise
            except Exception:
                log.exception("could not dispatch wake-up %.200s", wake)

    async def _records(self, wakes: list[dict[str, Any]]) -> dict[str, records.Record]:
        """The records the wake-ups name, by id (none if Redis refuses, short of a lost
        connection, which the listener handles)."""
        ids = list(
            dict.fromkeys(
                w["request_id"]
                for w in wakes
                if w.get("type") in RECORD_WAKES and w.get("request_id")
            )
        )
        if not ids:
            return {}
        try:
            return {r["id"]: r for r in await records.load_many(self.store, ids)}
        except aioredis.ConnectionError:
            raise
        except aioredis.RedisError:
            log.exception("could not read the records of %d wake-ups", len(ids))
            return {}

    async def dispatch(self, wake: dict[str, Any], record: records.Record | None) -> None:
        """Handle one wake-up; `record` is the request it names, as just read."""
        kind = wake.get("type")
        if kind == "signal":
            await self.hub.send_to_user(
                wake["to"],
                {
                    "type": "signal",
                    "request_id": wake["request_id"],
                    "from_role": wake["from_role"],
                    "data": wake["data"],
                },
            )
        elif kind == "session_ended":
            await self.hub.close_sessions([t for t in wake.get("tokens", ()) if isinstance(t, str)])
        elif kind == "message" and record is not None:
            await self._chat(wake, record)
        elif kind in REQUEST_EVENTS and record is not None:
            await self._request_changed(kind, record, wake.get("actor"))
        if kind in QUEUE_EVENTS:
            self.queue_dirty.set()

    async def _chat(self, wake: dict[str, Any], record: records.Record) -> None:
        message = {"type": "chat.message", "request_id": record["id"], "message": wake["message"]}
        for user_id in {record["officer_id"], record.get("clinician_id", "")} - {""}:
            await self.hub.send_to_user(user_id, message)

    async def _request_changed(self, kind: str, record: records.Record, actor: str | None) -> None:
        summary = {
            **records.queue_item(record, self.clock()).model_dump(mode="json"),
            "status": record["status"],
        }
        staff_type = "request.created" if kind == "created" else "request.updated"
        # The assigned clinician gets the full record below instead of the summary.
        assigned = {record.get("clinician_id") or ""}
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            await self.hub.send_to_role(
                role, {"type": staff_type, "request": summary}, exclude=assigned
            )
        for user_id in {record["officer_id"], record.get("clinician_id") or "", actor or ""}:
            await self._send_full(user_id, record)

    async def _send_full(self, user_id: str, record: records.Record) -> None:
        if not user_id or not self.hub.is_connected(user_id):
            return
        sockets = self.hub.by_user[user_id]
        viewer = self.hub.users[next(iter(sockets))]
        if viewer.role is Role.CLINICIAN and not records.is_assigned(viewer, record):
            return  # already told through the staff summary
        if not records.may_see(viewer, record):
            return
        shaped = await records.shape_for(
            self.store, record, viewer, phone_fallback=self.phone_fallback
        )
        await self.hub.send_to_user(
            user_id, {"type": "request.updated", "request": shaped.model_dump(mode="json")}
        )

    async def broadcast_queue(self) -> None:
        """Send `queue.changed` to staff, and each waiting officer their position and wait."""
        keys, now = self.store.keys, self.clock()
        async with self.store.client.pipeline(transaction=False) as pipe:
            pipe.zrange(keys("queue"), 0, -1)
            pipe.lrange(keys("recent:waits"), 0, -1)
            pipe.lrange(keys("recent:sessions"), 0, -1)
            pipe.hvals(keys("clin:state"))
            ids, waits, sessions, states = await pipe.execute()
        owners = await self._owners(ids)
        oldest = min((created for _, created in owners), default=None)
        base = {
            "type": "queue.changed",
            "waiting": len(ids),
            "longest_wait_s": round((now - oldest) / 1000, 1) if oldest else 0.0,
        }
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            await self.hub.send_to_role(role, base)
        waits_s = sorted(int(ms) / 1000 for ms in waits)
        sessions_s = sorted(int(ms) / 1000 for ms in sessions)
        available = states.count(Availability.AVAILABLE.value)
        busy = states.count(Availability.BUSY.value)
        for position, (request_id, (officer, _)) in enumerate(zip(ids, owners, strict=True), 1):
            if not self.hub.is_connected(officer):
                continue
            estimate = estimate_wait_s(
                position=position,
                recent_waits_s=waits_s,
                recent_sessions_s=sessions_s,
                clinicians_available=available,
                clinicians_busy=busy,
            )
            await self.hub.send_to_user(
                officer,
                {
                    **base,
                    "request_id": request_id,
                    "position": position,
                    "estimated_wait_s": round(estimate, 1),
                },
            )
            if position % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _owners(self, ids: list[str]) -> list[tuple[str, int]]:
        """Officer and creation time of each request, read from Redis only once per request."""
        missing = [request_id for request_id in ids if request_id not in self.owners]
        if missing:
            async with self.store.client.pipeline(transaction=False) as pipe:
                for request_id in missing:
                    pipe.hmget(self.store.keys.request(request_id), "officer_id", "created_ms")
                rows = await pipe.execute()
            for request_id, (officer, created) in zip(missing, rows, strict=True):
                self.owners[request_id] = (officer or "", int(created or 0))
        self.owners = {request_id: self.owners[request_id] for request_id in ids}
        return list(self.owners.values())


async def listen(dispatcher: Dispatcher) -> None:
    """Serve wake-ups until cancelled, resubscribing with back-off when the connection drops."""
    channel = dispatcher.store.keys("wake")
    delay = 0.1
    while True:
        pubsub = dispatcher.store.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            delay = 0.1
            dispatcher.queue_dirty.set()  # anything missed while away: resend the queue
            async for message in pubsub.listen():
                batch = [message["data"]]
                while (
                    len(batch) < BATCH_MAX
                    and (more := await pubsub.get_message(timeout=0.0)) is not None
                ):
                    batch.append(more["data"])
                await dispatcher.dispatch_batch(batch)
        except (aioredis.ConnectionError, OSError) as e:
            log.warning("pub/sub connection lost (%s); resubscribing in %.1f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        finally:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await pubsub.aclose()


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
