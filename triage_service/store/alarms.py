"""Alarms in Redis: the raise-once claim, acknowledgement, listing and the delivery queue of
escalations (one member per channel and alarm, scored by its next attempt)."""

from __future__ import annotations

import json
from typing import Literal

from triage_service.store.base import Client, Part, Refused, Run, fields, texts
from triage_service.store.keys import Keys

CLAIM_TTL_S = 90 * 24 * 3600  # a subject (request, referral) never alarms twice for one kind
DELIVERY_LEASE_MS = 30_000  # a claimed attempt not rescheduled by then is retried elsewhere
LIST_LIMIT = 200
Row = dict[str, str]


class Alarms(Part):
    """The alarm records, their indexes and deliveries; the alarm scripts run through the
    store's `run` (atomic, replicated like every state change)."""

    def __init__(self, client: Client, keys: Keys, run: Run) -> None:
        super().__init__(client, keys)
        self._run = run

    async def unclaimed(self, kind: str, subjects: list[str]) -> list[str]:
        """The subjects that have not raised an alarm of `kind` yet (one round trip)."""
        if not subjects:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for subject in subjects:
                pipe.exists(self.keys.alarm_claim(kind, subject))
            found = await pipe.execute()
        return [s for s, exists in zip(subjects, found, strict=True) if not exists]

    async def raise_once(
        self,
        kind: str,
        subject: str,
        fields: dict[str, str | int],
        *,
        deliver: list[str],
        now_ms: int,
    ) -> bool:
        """Raise the alarm unless (kind, subject) already has one; True if this call raised it."""
        try:
            await self._run(
                "alarm_raise",
                now_ms,
                kind,
                subject,
                json.dumps(fields),
                CLAIM_TTL_S,
                " ".join(deliver),
            )
        except Refused:
            return False
        return True

    async def acknowledge(
        self, alarm_id: str, *, user_id: str, user_name: str, note: str, now_ms: int
    ) -> Row:
        """Acknowledge once; raises Refused('not_found' | 'already_acknowledged')."""
        result = await self._run("alarm_ack", now_ms, alarm_id, user_id, user_name, note)
        return fields(result["record"])

    async def get(self, alarm_id: str) -> Row | None:
        """One alarm's hash, or None."""
        row = fields(await self.client.hgetall(self.keys.alarm(alarm_id)))
        return row or None

    async def newest(self, status: Literal["open", "all"]) -> list[Row]:
        """Open or all alarms, newest first."""
        index = self.keys.alarms_open if status == "open" else self.keys.alarms_all
        ids = texts(await self.client.zrevrange(index, 0, LIST_LIMIT - 1))
        async with self.client.pipeline(transaction=False) as pipe:
            for alarm_id in ids:
                pipe.hgetall(self.keys.alarm(alarm_id))
            rows = [fields(row) for row in await pipe.execute()]
        return [row for row in rows if row]

    async def due_deliveries(self, now_ms: int, limit: int = 20) -> list[str]:
        """Delivery members (`channel:alarm_id`) whose next attempt is due."""
        found = await self.client.zrangebyscore(
            self.keys.alarm_deliveries, "-inf", now_ms, start=0, num=limit
        )
        return texts(found)

    async def claim_delivery(self, member: str, *, now_ms: int) -> int | None:
        """Claim one due attempt for this instance; its attempt number, or None if another
        instance has it, it is not due, or the alarm was acknowledged."""
        try:
            result = await self._run("alarm_claim_delivery", now_ms, member, DELIVERY_LEASE_MS)
        except Refused:
            return None
        return int(result["attempt"])

    async def finish(self, member: str) -> None:
        """A one-off delivery (a new referral to its team) was accepted: no more attempts."""
        await self.client.zrem(self.keys.alarm_deliveries, member)

    async def reschedule(self, member: str, *, at_ms: int, delivered: bool) -> None:
        """Set the next attempt (only while still queued: an acknowledgement removed it)."""
        alarm_id = member.partition(":")[2]
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.alarm_deliveries, {member: at_ms}, xx=True)
            if delivered:
                pipe.hset(self.keys.alarm(alarm_id), f"{member}:attempts", 0)
                pipe.hincrby(self.keys.alarm(alarm_id), f"{member}:sent", 1)
            await pipe.execute()
