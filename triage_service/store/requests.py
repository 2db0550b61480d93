"""Request records and the queue as the readers see them: one round trip per read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict, cast

from redis.asyncio.client import Pipeline

from triage_service.store.base import Part, fields, maybe_text, scored, texts


class RequestRecord(TypedDict):
    """A request's hash as stored (every value a string, as Redis keeps it); the lifecycle
    scripts write it, `service/records.py` shapes it for readers."""

    id: str
    status: str
    priority: str
    score: str
    urgency: str
    mode: str
    created_ms: str
    expire_ms: str
    officer_id: str
    officer_name: str
    area: str
    form: str
    area_id: NotRequired[str]
    board: NotRequired[str]
    overflow_ms: NotRequired[str]
    age_band: NotRequired[str]
    sex: NotRequired[str]
    clinician_id: NotRequired[str]
    clinician_name: NotRequired[str]
    accepted_ms: NotRequired[str]
    answered: NotRequired[str]
    first_wait_ms: NotRequired[str]
    completed_ms: NotRequired[str]
    outcome: NotRequired[str]
    disposition: NotRequired[str]
    triage_code: NotRequired[str]
    conveyance: NotRequired[str]
    officer_released_ms: NotRequired[str]
    referral_id: NotRequired[str]
    past_clinicians: NotRequired[str]  # comma-separated: who had it before a release
    notice_id: NotRequired[str]
    purged_ms: NotRequired[str]
    useful: NotRequired[str]
    time_saved_min: NotRequired[str]
    feedback_comment: NotRequired[str]
    feedback_ms: NotRequired[str]


def as_record(stored: dict[str, str]) -> RequestRecord | None:
    """A request hash (or a script's copy of it) as a record; None when empty."""
    return cast(RequestRecord, stored) if stored else None


@dataclass(frozen=True, slots=True)
class QueueState:
    """What the wait estimate needs: the recent waits and sessions (ms) and every
    clinician's availability."""

    waits_ms: list[int]
    sessions_ms: list[int]
    states: list[str]


class Requests(Part):
    """Request records, the queue and the per-officer lists."""

    async def load(self, request_id: str) -> RequestRecord | None:
        """The stored hash of a request, or None."""
        return as_record(fields(await self.client.hgetall(self.keys.request(request_id))))

    async def load_many(self, request_ids: Sequence[str]) -> list[RequestRecord]:
        """Several request hashes in one round trip, skipping any that vanished."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hgetall(self.keys.request(request_id))
            found = await pipe.execute()
        return [r for r in (as_record(fields(f)) for f in found) if r is not None]

    async def created_ms(self, request_id: str) -> str | None:
        """When the request was created (ms, as stored), or None if there is none."""
        return maybe_text(await self.client.hget(self.keys.request(request_id), "created_ms"))

    async def owners(self, request_ids: Sequence[str]) -> list[tuple[str, int]]:
        """Officer id and creation time of each request, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hmget(self.keys.request(request_id), "officer_id", "created_ms")
            found = await pipe.execute()
        return [(officer or "", int(created or 0)) for officer, created in found]

    async def waiting(self, limit: int | None = None) -> list[str]:
        """Waiting request ids in service order (the first `limit`, or all)."""
        end = -1 if limit is None else limit - 1
        return texts(await self.client.zrange(self.keys.queue, 0, end))

    async def waiting_scored(self, limit: int) -> list[tuple[str, float]]:
        """The first `limit` waiting request ids in service order, with their queue scores."""
        return scored(await self.client.zrange(self.keys.queue, 0, limit - 1, withscores=True))

    async def of_officer(self, officer_id: str, limit: int) -> list[str]:
        """An officer's latest `limit` request ids, newest first."""
        ids = await self.client.zrevrange(self.keys.officer_requests(officer_id), 0, limit - 1)
        return texts(ids)

    async def position(self, request_id: str) -> tuple[int | None, QueueState]:
        """The request's 0-based queue rank (None if not waiting) and the queue's state, in
        one round trip."""
        keys = self.keys
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrank(keys.queue, request_id)
            _queue_state(pipe, self)
            rank, waits, sessions, states = await pipe.execute()
        return rank, QueueState(_ints(waits), _ints(sessions), texts(states))

    async def queue(self) -> tuple[list[str], QueueState]:
        """Every waiting request id in service order and the queue's state, in one round
        trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(self.keys.queue, 0, -1)
            _queue_state(pipe, self)
            ids, waits, sessions, states = await pipe.execute()
        return texts(ids), QueueState(_ints(waits), _ints(sessions), texts(states))

    async def created_between(
        self, low: float | str, high: float | str, *, skip: int, count: int
    ) -> list[tuple[str, float]]:
        """Request ids with their creation time in [low, high] (Redis score syntax), oldest
        first, skipping the first `skip`."""
        found = await self.client.zrangebyscore(
            self.keys.reqs_created, low, high, start=skip, num=count, withscores=True
        )
        return scored(found)

    async def fields_of(
        self, request_ids: Sequence[str], names: Sequence[str]
    ) -> list[dict[str, str | None]]:
        """The named fields of each request (None where absent), in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hmget(self.keys.request(request_id), list(names))
            found = await pipe.execute()
        return [dict(zip(names, values, strict=True)) for values in found]


def _queue_state(pipe: Pipeline, part: Part) -> None:
    """Queue the reads of `QueueState` on `pipe`."""
    keys = part.keys
    pipe.lrange(keys.recent_waits, 0, -1)
    pipe.lrange(keys.recent_sessions, 0, -1)
    pipe.hvals(keys.clin_state)


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values]
