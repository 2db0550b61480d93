"""Alarms in Redis: the raise-once claim, acknowledgement, listing and the delivery queue of
escalations (one member per channel and alarm, scored by its next attempt)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from triage_service.domain.idempotency import Idempotency
from triage_service.store.base import Client, Part, Refused, Run, fields, texts
from triage_service.store.keys import Keys

CLAIM_TTL_S = 90 * 24 * 3600  # a subject (request, referral) never alarms twice for one kind
# A claimed attempt not rescheduled by then (its sender died) is retried elsewhere; longer
# than one attempt can take (web/alerts.py SEND_TIMEOUT_S).
DELIVERY_LEASE_MS = 10_000
LIST_LIMIT = 200
SCAN_PAGES = 25  # a board's alarms are looked for among the newest 5,000 of every board
Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class Claim:
    """One delivery attempt claimed by this instance: its member (`channel:id`), attempt
    number (since the last successful delivery) and how many deliveries were made before."""

    member: str
    attempt: int
    sent: int


class Alarms(Part):
    """The alarm records, their indexes and deliveries; the alarm scripts run through the
    store's `run` (atomic, replicated like every state change)."""

    def __init__(self, client: Client, keys: Keys, run: Run) -> None:
        super().__init__(client, keys)
        self._run = run

    async def unclaimed(self, kind: str, subjects: list[str]) -> list[str]:
        """The subjects that have not raised an alarm of `kind` yet (one command, however
        many: the sweeper asks every second)."""
        if not subjects:
            return []
        found = await self.client.mget([self.keys.alarm_claim(kind, s) for s in subjects])
        return [s for s, claim in zip(subjects, found, strict=True) if claim is None]

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
        self,
        alarm_id: str,
        *,
        user_id: str,
        user_name: str,
        note: str,
        now_ms: int,
        idempotency: Idempotency | None = None,
    ) -> Row:
        """Acknowledge once; raises Refused('not_found' | 'already_acknowledged'); a repeat
        of the same user's key answers the alarm as the first acknowledgement left it."""
        result = await self._run(
            "alarm_ack", now_ms, alarm_id, user_id, user_name, note, idempotency=idempotency
        )
        return fields(result["record"])

    async def claim_batch_key(self, idempotency: Idempotency) -> bool:
        """Keep a batch's key with its change (as the scripts keep theirs); False when the
        key was already used for another change."""
        key = self.keys.idempotency(idempotency.user_id, idempotency.key)
        kept = json.dumps({"scope": idempotency.scope, "result": "batch"})
        if await self.client.set(key, kept, nx=True, ex=idempotency.ttl_s):
            return True
        try:
            earlier = json.loads(await self.client.get(key) or "{}")
        except ValueError:
            return False
        return isinstance(earlier, dict) and earlier.get("scope") == idempotency.scope

    async def get(self, alarm_id: str) -> Row | None:
        """One alarm's hash, or None."""
        row = fields(await self.client.hgetall(self.keys.alarm(alarm_id)))
        return row or None

    async def newest(
        self, status: Literal["open", "all"], *, of: Callable[[Row], bool] | None = None
    ) -> list[Row]:
        """Open or all alarms, newest first (up to `LIST_LIMIT`; with `of`, only those it
        keeps, looking through at most `SCAN_PAGES` pages of the index)."""
        index = self.keys.alarms_open if status == "open" else self.keys.alarms_all
        found: list[Row] = []
        for page in range(SCAN_PAGES):
            start = page * LIST_LIMIT
            ids = texts(await self.client.zrevrange(index, start, start + LIST_LIMIT - 1))
            async with self.client.pipeline(transaction=False) as pipe:
                for alarm_id in ids:
                    pipe.hgetall(self.keys.alarm(alarm_id))
                rows = [fields(row) for row in await pipe.execute()]
            found += [row for row in rows if row and (of is None or of(row))]
            if len(found) >= LIST_LIMIT or len(ids) < LIST_LIMIT:
                break
        return found[:LIST_LIMIT]

    async def due_deliveries(self, now_ms: int, limit: int = 20) -> list[str]:
        """Delivery members (`channel:alarm_id`) whose next attempt is due."""
        found = await self.client.zrangebyscore(
            self.keys.alarm_deliveries, "-inf", now_ms, start=0, num=limit
        )
        return texts(found)

    async def claim_delivery(self, member: str, *, now_ms: int) -> Claim | None:
        """Claim one due attempt for this instance (its attempt number and how many times
        the delivery was made before), or None if another instance has it, it is not due,
        or the alarm was acknowledged."""
        try:
            result = await self._run("alarm_claim_delivery", now_ms, member, DELIVERY_LEASE_MS)
        except Refused:
            return None
        return Claim(member, int(result["attempt"]), int(result["sent"]))

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

    async def place_unplaced(self) -> int:
        """Give every alarm from before alarms kept their place the area and board of its
        request (a referral's: of the request that made it); how many were placed."""
        keys, placed = self.keys, 0
        ids = texts(await self.client.zrange(keys.alarms_all, 0, -1))
        for start in range(0, len(ids), LIST_LIMIT):
            page = ids[start : start + LIST_LIMIT]
            async with self.client.pipeline(transaction=False) as pipe:
                for alarm_id in page:
                    pipe.hmget(keys.alarm(alarm_id), ["board", "request_id", "referral_id"])
                rows = await pipe.execute()
            for alarm_id, (board, request_id, referral_id) in zip(page, rows, strict=True):
                if board is not None:
                    continue
                if not request_id and referral_id:
                    request_id = await self.client.hget(keys.referral(referral_id), "request_id")
                area_id, area, found = await self.client.hmget(
                    keys.request(request_id or ""), ["area_id", "area", "board"]
                )
                await self.client.hset(
                    keys.alarm(alarm_id),
                    mapping={"area_id": area_id or "", "area": area or "", "board": found or ""},
                )
                placed += 1
        return placed
