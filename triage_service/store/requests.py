"""Request records and the queue as the readers see them: one round trip per read."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline

from triage_service.domain.codes import RequestStatus
from triage_service.store.base import Client, Part, fields, maybe_text, scored, texts
from triage_service.store.keys import Keys
from triage_service.store.scripts import lua_script


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the lifecycle scripts stored it, parsed once at the store's edge: times
    and counts as ints, the form and outcome as JSON objects, flags as bools, absent or
    empty text as None. `service/records.py` shapes it for readers."""

    id: str
    status: RequestStatus
    priority: int
    urgency: str
    mode: str
    created_ms: int
    officer_id: str
    officer_name: str
    area: str  # the place as typed (or the directory area's name); may be empty
    form: dict[str, Any]  # the request form as JSON (without what has fields of its own)
    expire_ms: int | None = None
    area_id: str | None = None
    board: str | None = None
    overflow_ms: int | None = None
    clinician_id: str | None = None
    clinician_name: str | None = None
    clinician_phone: str | None = None  # the assigned clinician's call-back number
    officer_phone: str | None = None  # the officer's call-back number (form, else account)
    consent: str | None = None  # given, lacks_capacity or declined (None: before v1.2)
    pos_ended_ms: int | None = None  # s298: when the place-of-safety detention ended
    pos_result: str | None = None  # s298: the result of the medical examination
    pos_note: str | None = None
    pos_updated_ms: int | None = None
    accepted_ms: int | None = None
    answered: bool = False  # a clinician took it at least once
    first_wait_ms: int | None = None
    completed_ms: int | None = None
    outcome: dict[str, Any] | None = None  # the filed outcome form as JSON
    disposition: str | None = None
    triage_code: str | None = None
    conveyance: str | None = None
    officer_released_ms: int | None = None
    referral_id: str | None = None
    past_clinicians: tuple[str, ...] = ()  # who had it before a release
    notice_id: str | None = None
    purged_ms: int | None = None
    useful: int | None = None
    time_saved_min: int | None = None
    feedback_comment: str | None = None
    feedback_ms: int | None = None
    counterfactual: str | None = None  # the officer's feedback: what they would otherwise have done
    # Previous contacts (service/contacts.py): the person key (HMAC of the CHI number, else of
    # name and date of birth), what it was made from (`chi`, `name_dob`), the keys the request
    # is found under, and whether it repeats an earlier contact
    person_key: str | None = None
    person_match: str | None = None
    chi_key: str | None = None
    name_key: str | None = None
    repeat_30d: bool = False
    repeat_12m: bool = False
    # Transfers (service/transfers.py): the pending offer (to whom, from whom, its note, when
    # made and when it lapses) and every hand-over so far (oldest first), the last one's time
    transfer_to: str | None = None
    transfer_to_name: str | None = None
    transfer_from: str | None = None
    transfer_from_name: str | None = None
    transfer_note: str | None = None
    transfer_offered_ms: int | None = None
    transfer_expires_ms: int | None = None
    transfers: tuple[dict[str, Any], ...] = ()
    transferred_ms: int | None = None


class CorruptRequest(ValueError):
    """A stored request hash that does not parse: a field missing or malformed."""


def parse_request(stored: Mapping[str, str]) -> Request | None:
    """A request hash (or a script's copy of it) as a `Request`; None when empty;
    `CorruptRequest` naming the request and the field when it does not parse."""
    if not stored:
        return None
    try:
        return _parse(stored)
    except (KeyError, ValueError, TypeError) as e:
        raise CorruptRequest(f"request {stored.get('id', '?')!r} does not parse: {e!r}") from e


def _parse(stored: Mapping[str, str]) -> Request:
    get = stored.get
    outcome = get("outcome")
    past = get("past_clinicians")
    return Request(
        id=stored["id"],
        status=RequestStatus(stored["status"]),
        priority=int(stored["priority"]),
        urgency=stored["urgency"],
        mode=stored["mode"],
        created_ms=int(stored["created_ms"]),
        officer_id=stored["officer_id"],
        officer_name=stored["officer_name"],
        area=get("area") or "",
        form=json.loads(stored["form"]),
        expire_ms=_int(get("expire_ms")),
        area_id=get("area_id") or None,
        board=get("board") or None,
        overflow_ms=_int(get("overflow_ms")),
        clinician_id=get("clinician_id") or None,
        clinician_name=get("clinician_name") or None,
        clinician_phone=get("clinician_phone") or None,
        officer_phone=get("officer_phone") or None,
        consent=get("consent") or None,
        pos_ended_ms=_int(get("pos_ended_ms")),
        pos_result=get("pos_result") or None,
        pos_note=get("pos_note") or None,
        pos_updated_ms=_int(get("pos_updated_ms")),
        accepted_ms=_int(get("accepted_ms")),
        answered=get("answered") == "1",
        first_wait_ms=_int(get("first_wait_ms")),
        completed_ms=_int(get("completed_ms")),
        outcome=json.loads(outcome) if outcome else None,
        disposition=get("disposition") or None,
        triage_code=get("triage_code") or None,
        conveyance=get("conveyance") or None,
        officer_released_ms=_int(get("officer_released_ms")),
        referral_id=get("referral_id") or None,
        past_clinicians=_names(past),
        notice_id=get("notice_id") or None,
        purged_ms=_int(get("purged_ms")),
        useful=_int(get("useful")),
        time_saved_min=_int(get("time_saved_min")),
        feedback_comment=get("feedback_comment") or None,
        feedback_ms=_int(get("feedback_ms")),
        counterfactual=get("counterfactual") or None,
        person_key=get("person_key") or None,
        person_match=get("person_match") or None,
        chi_key=get("chi_key") or None,
        name_key=get("name_key") or None,
        repeat_30d=get("repeat_30d") == "1",
        repeat_12m=get("repeat_12m") == "1",
        transfer_to=get("transfer_to") or None,
        transfer_to_name=get("transfer_to_name") or None,
        transfer_from=get("transfer_from") or None,
        transfer_from_name=get("transfer_from_name") or None,
        transfer_note=get("transfer_note") or None,
        transfer_offered_ms=_int(get("transfer_offered_ms")),
        transfer_expires_ms=_int(get("transfer_expires_ms")),
        transfers=tuple(json.loads(get("transfers") or "[]")),
        transferred_ms=_int(get("transferred_ms")),
    )


def record_of(result: Mapping[str, Any]) -> Request | None:
    """The request a lifecycle script answered (its `record`), parsed; None when it was
    purged meanwhile."""
    return parse_request(result.get("record") or {})


def _names(text: str | None) -> tuple[str, ...]:
    """A stored comma-separated list of ids."""
    return tuple(text.split(",")) if text else ()


def _int(value: str | None) -> int | None:
    """A stored whole number (Lua may write one as `12.0`), or None when absent or empty."""
    return int(float(value)) if value else None


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who is, and who was before a release, the clinician of a request."""

    clinician_id: str | None
    past_clinicians: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Queued:
    """What an officer's place in the queue is computed from: whose request it is, when it
    was made and expires, its priority, and the board it is offered within until when."""

    officer_id: str
    created_ms: int
    expire_ms: int
    priority: int
    board: str
    overflow_ms: int


@dataclass(frozen=True, slots=True)
class QueueState:
    """What the wait estimate needs: the recent waits and sessions (ms) and every
    clinician's availability."""

    waits_ms: list[int]
    sessions_ms: list[int]
    states: list[str]


class Requests(Part):
    """Request records, the queue and the per-officer lists."""

    def __init__(self, client: Client, keys: Keys) -> None:
        super().__init__(client, keys)
        self._waiting_boards = client.register_script(lua_script("waiting_boards"))

    async def load(self, request_id: str) -> Request | None:
        """The stored hash of a request, or None."""
        return parse_request(fields(await self.client.hgetall(self.keys.request(request_id))))

    async def load_many(self, request_ids: Sequence[str]) -> list[Request]:
        """Several request hashes in one round trip, skipping any that vanished."""
        if len(request_ids) == 1:  # a wake-up's one record: a plain command costs a third less
            one = await self.load(request_ids[0])
            return [one] if one is not None else []
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hgetall(self.keys.request(request_id))
            found = await pipe.execute()
        return [r for r in (parse_request(fields(f)) for f in found) if r is not None]

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

    async def in_session(self) -> list[str]:
        """The ids of the requests in session now."""
        return sorted(texts(await self.client.smembers(self.keys.active)))

    async def waiting(self, limit: int | None = None) -> list[str]:
        """Waiting request ids in service order (the first `limit`, or all)."""
        end = -1 if limit is None else limit - 1
        return texts(await self.client.zrange(self.keys.queue, 0, end))

    async def waiting_boards(self, limit: int) -> list[tuple[str, float, str]]:
        """The first `limit` waiting requests in service order, each with its queue score
        and board ('' for none): one round trip and one command however many wait."""
        found = json.loads(await self._waiting_boards(args=[self.keys.prefix, 0, limit]))
        return [(rid, float(score), board) for rid, score, board in found["waiting"] or []]

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

    async def status(self, request_id: str) -> RequestStatus | None:
        """The request's status, or None if there is no such request."""
        found = maybe_text(await self.client.hget(self.keys.request(request_id), "status"))
        return RequestStatus(found) if found else None

    async def queued(self, request_ids: Sequence[str]) -> list[Queued]:
        """What each request's place in the queue is computed from, in one round trip (zero
        and empty for a request that vanished; priority 3 when none is stored)."""
        names = ("officer_id", "created_ms", "expire_ms", "priority", "board", "overflow_ms")
        return [
            Queued(
                f["officer_id"] or "",
                _int(f["created_ms"]) or 0,
                _int(f["expire_ms"]) or 0,
                _int(f["priority"]) or 3,
                f["board"] or "",
                _int(f["overflow_ms"]) or 0,
            )
            for f in await self.fields_of(request_ids, names)
        ]

    async def assignments(self, request_ids: Sequence[str]) -> list[Assignment]:
        """Who is and who was the clinician of each request, in one round trip."""
        found = await self.fields_of(request_ids, ("clinician_id", "past_clinicians"))
        return [Assignment(f["clinician_id"] or None, _names(f["past_clinicians"])) for f in found]

    async def boards(self, request_ids: Sequence[str]) -> list[str | None]:
        """The health board of each request (None: none, or no such request)."""
        found = await self.fields_of(request_ids, ("board",))
        return [f["board"] or None for f in found]

    async def statuses(self, request_ids: Sequence[str]) -> list[RequestStatus | None]:
        """Each request's status (None for one that vanished), in one round trip."""
        rows = await self.fields_of(request_ids, ("status",))
        return [RequestStatus(row["status"]) if row["status"] else None for row in rows]

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
