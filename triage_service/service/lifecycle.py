"""Request lifecycle: create, cancel, accept, release, file the outcome, expire.

Each transition is one Lua script in the store (atomic, with its event and counters); these
functions prepare its arguments and read the result back.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from triage_service.domain import idempotency as idem
from triage_service.domain.codes import AgeBand, Availability
from triage_service.domain.errors import Conflict, Invalid, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.outcome_rules import RequestFacts, check_outcome, is_override
from triage_service.domain.routing import overflow_at_ms
from triage_service.domain.rules import (
    mwc_notice_due,
    queue_score,
    referral_due_at,
    request_priority,
)
from triage_service.domain.teams import request_board, team_of
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.fallback import schedule_fallback
from triage_service.service.routing import schedule_overflow
from triage_service.settings import Settings
from triage_service.store import Refused, RequestRecord, Store
from triage_service.store.requests import as_record

IDEMPOTENCY_TTL_S = idem.TTL_S
RELEASED_MIN_REMAINING_MS = 120_000


def new_id() -> str:
    """A short random id, unguessable (64 bits)."""
    return secrets.token_hex(8)


async def create_request(
    store: Store,
    settings: Settings,
    officer: User,
    form: RequestForm,
    *,
    now_ms: int,
    idempotency_key: str | None,
) -> tuple[RequestRecord, bool]:
    """Queue a new request; with a repeated idempotency key, return the first one instead."""
    cssrs = form.screening.cssrs.model_dump() if form.screening.cssrs else None
    priority = request_priority(form.urgency, cssrs)
    area = settings.areas.resolve(form.location.area_id, form.location.area)
    fields = {
        "id": new_id(),
        "status": "waiting",
        "priority": priority,
        "score": queue_score(priority, now_ms),
        "urgency": form.urgency.value,
        "mode": form.mode.value,
        "created_ms": now_ms,
        "expire_ms": now_ms + settings.max_wait_s * 1000,
        "officer_id": officer.id,
        "officer_name": officer.display_name,
        "area": form.location.area or "",
        "area_id": area.id if area else "",
        "board": area.board if area else "",
        "overflow_ms": overflow_at_ms(priority, now_ms, settings.overflow_thresholds),
        "form": form.model_dump_json(exclude={"consent", "urgency", "mode"}),
    }
    try:
        result = await store.run(
            "create",
            now_ms,
            fields["id"],
            officer.id,
            idempotency_key or "",
            IDEMPOTENCY_TTL_S,
            fields["expire_ms"],
            json.dumps(fields),
        )
    except Refused as e:
        raise _conflict(e) from e
    record = _record(result)
    if result["created"]:
        await schedule_fallback(store, settings, record)
        await schedule_overflow(store, record, now_ms=now_ms)
    return record, bool(result["created"])


async def cancel_request(
    store: Store,
    settings: Settings,
    officer: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> RequestRecord:
    """The owner withdraws a waiting request (a repeated key: the request as it now stands)."""
    return await _transition(
        store,
        "cancel",
        now_ms,
        request_id,
        officer.id,
        settings.short_abandon_s * 1000,
        idempotency=idempotency,
    )


async def accept_request(
    store: Store,
    clinician: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> RequestRecord:
    """Take a waiting request: exactly one of several concurrent callers wins; a repeat of the
    winner's key answers the request as it now stands, not 409."""
    return await _transition(
        store,
        "accept",
        now_ms,
        request_id,
        clinician.id,
        clinician.display_name,
        idempotency=idempotency,
    )


async def take_next(
    store: Store, clinician: User, *, now_ms: int, idempotency: Idempotency | None = None
) -> RequestRecord:
    """Accept the first waiting request in service order; a repeated key answers the request
    the first call took, and takes no other."""
    try:
        result = await store.run(
            "next", now_ms, clinician.id, clinician.display_name, idempotency=idempotency
        )
    except Refused as e:
        if e.code == "queue_empty":
            raise NotFound(code="queue_empty", message="Nobody is waiting.") from e
        raise _conflict(e) from e
    return _record(result)


async def release_request(
    store: Store,
    clinician: User,
    request_id: str,
    reason: str,
    *,
    now_ms: int,
    actor_role: str = "clinician",
    idempotency: Idempotency | None = None,
) -> RequestRecord:
    """Hand a request back to the queue at its original place."""
    return await _transition(
        store,
        "release",
        now_ms,
        request_id,
        clinician.id,
        reason,
        RELEASED_MIN_REMAINING_MS,
        actor_role,
        idempotency=idempotency,
    )


async def file_outcome(
    store: Store,
    settings: Settings,
    clinician: User,
    request_id: str,
    outcome: OutcomeForm,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> RequestRecord:
    """Record the outcome once, opening its referral and any s298 notification; a repeated
    key answers the request as the first filing left it."""
    made_at = to_datetime(now_ms)
    assert made_at is not None
    facts, board = await _request_facts(store, request_id)
    check_outcome(outcome, facts, now=made_at)
    referral = notice = notify = ""
    if outcome.referral:
        team = team_of(outcome.referral.service.value, board)
        notify = "1" if team in settings.team_webhook_urls else ""
        due = outcome.referral.due_at or referral_due_at(
            urgency=outcome.referral.urgency,
            service=outcome.referral.service,
            made_at=made_at,
            response_targets_h=settings.response_targets,
        )
        referral = _referral_json(
            request_id,
            now_ms,
            kind="referral",
            service=outcome.referral.service.value,
            urgency=outcome.referral.urgency,
            due_ms=int(due.timestamp() * 1000),
            contact=outcome.referral.contact or "",
            team=team,
            clinician_id=clinician.id,
        )
    if outcome.place_of_safety:
        due = mwc_notice_due(outcome.place_of_safety.removed_at, days=settings.mwc_notice_days)
        notice = _referral_json(
            request_id,
            now_ms,
            kind="mwc_notification",
            service="mental_welfare_commission",
            urgency="s298",
            due_ms=int(due.timestamp() * 1000),
            contact="",
            clinician_id=clinician.id,
        )
    released = outcome.officer_released_at or made_at
    return await _transition(
        store,
        "outcome",
        now_ms,
        request_id,
        clinician.id,
        outcome.model_dump_json(),
        outcome.disposition.value,
        outcome.triage_code.value,
        outcome.conveyance.value,
        int(released.timestamp() * 1000),
        referral,
        notice,
        "1" if is_override(outcome) else "",
        notify,
        idempotency=idempotency,
    )


async def _request_facts(store: Store, request_id: str) -> tuple[RequestFacts, str]:
    """What the outcome rules need from the request (its creation time and the person's age),
    and its health board (where its referral goes)."""
    (found,) = await store.requests.fields_of([request_id], ("created_ms", "form", "board"))
    created, form = found["created_ms"], found["form"]
    created_at = to_datetime(created)
    if created_at is None or not form:
        raise NotFound()
    age = AgeBand(json.loads(form)["subject"]["age_band"])
    return RequestFacts(created_at, age), request_board(found)


async def expire_request(store: Store, request_id: str, *, now_ms: int) -> bool:
    """Expire a request whose wait timer fired; False if it was no longer waiting."""
    try:
        await store.run("expire", now_ms, request_id)
    except Refused:
        return False
    return True


async def set_availability(
    store: Store, clinician: User, status: Availability, *, now_ms: int
) -> Availability:
    """Record a clinician's availability and its event."""
    event: dict[str, str | int] = {
        "type": "availability",
        "request_id": "",
        "actor": clinician.id,
        "role": "clinician",
        "at": now_ms,
        "status": status.value,
    }
    await store.clinicians.set_availability(
        clinician.id, clinician.display_name, status.value, event
    )
    return status


def _referral_json(request_id: str, now_ms: int, **fields: str | int) -> str:
    return json.dumps(
        {
            "id": new_id(),
            "request_id": request_id,
            "status": "pending",
            "created_ms": now_ms,
            "updated_ms": now_ms,
            **fields,
        }
    )


async def _transition(
    store: Store,
    script: str,
    now_ms: int,
    request_id: str,
    *args: str | int,
    idempotency: Idempotency | None = None,
) -> RequestRecord:
    """Run a lifecycle script; the record as it left it."""
    try:
        result = await store.run(script, now_ms, request_id, *args, idempotency=idempotency)
    except Refused as e:
        raise _conflict(e) from e
    return _record(result)


def _record(result: dict[str, Any]) -> RequestRecord:
    """The record a script returned (empty if it was purged meanwhile: 404)."""
    record = as_record(result.get("record") or {})
    if record is None:
        raise NotFound()
    return record


def _conflict(e: Refused) -> NotFound | Conflict | Invalid:
    if e.code == "not_found":
        return NotFound()
    if e.code == "idempotency_key_reused":
        return idem.reused()
    messages = {
        "already_assigned": "Another clinician has already accepted this request.",
        "not_waiting": f"The request is no longer waiting (it is {e.status}).",
        "not_in_session": f"The request is not in session with you (it is {e.status}).",
    }
    return Conflict(e.code, messages.get(e.code, f"Not allowed now: {e.code}."))
