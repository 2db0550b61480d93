"""Request lifecycle: create, cancel, accept, release, file the outcome, expire.

Each transition is one Lua script in the store (atomic, with its event and counters); these
functions prepare its arguments and read the result back.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from triage_service.domain import idempotency as idem
from triage_service.domain.codes import Availability, consent_recorded
from triage_service.domain.errors import Conflict, Invalid, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.outcome_rules import (
    check_outcome,
    is_override,
    latest_due,
)
from triage_service.domain.routing import overflow_at_ms
from triage_service.domain.rules import (
    mwc_notice_due,
    queue_score,
    referral_due_at,
    request_priority,
)
from triage_service.domain.teams import team_of
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.contacts import person_fields
from triage_service.service.fallback import fallback_timer
from triage_service.service.outcome_check import request_facts as _request_facts
from triage_service.service.routing import overflow_timer
from triage_service.service.throttle import over_the_limit
from triage_service.settings import Settings
from triage_service.store import Refused, Request, Store, record_of
from triage_service.store.changes import (
    AcceptRequest,
    CancelRequest,
    CreateRequest,
    ExpireRequest,
    FileOutcome,
    ReleaseRequest,
    ScriptCall,
    TakeNext,
)

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
    per_minute: int = 0,
) -> tuple[Request, bool]:
    """Queue a new request; with a repeated idempotency key, return the first one instead.
    With `per_minute`, the officer's creates are counted in the same step and one over that
    many in a minute is refused (`RateLimited`)."""
    cssrs = form.screening.cssrs.model_dump() if form.screening.cssrs else None
    priority = request_priority(form.urgency, cssrs)
    area = settings.areas.resolve(form.location.area_id, form.location.area)
    request_id, board = new_id(), area.board if area else ""
    overflow_ms = overflow_at_ms(priority, now_ms, settings.overflow_thresholds)
    expire_ms = now_ms + settings.max_wait_s * 1000
    fields = {
        "id": request_id,
        "status": "waiting",
        "priority": priority,
        "score": queue_score(priority, now_ms),
        "urgency": form.urgency.value,
        "mode": form.mode.value,
        "created_ms": now_ms,
        "expire_ms": expire_ms,
        "officer_id": officer.id,
        "officer_name": officer.display_name,
        "area": form.location.area or "",
        "area_id": area.id if area else "",
        "board": board,
        "overflow_ms": overflow_ms,
        "consent": consent_recorded(form.consent),
        "officer_phone": form.officer_phone or "",
        "form": form.model_dump_json(exclude={"consent", "urgency", "mode", "officer_phone"}),
        **person_fields(settings, form.subject),
    }
    # The request's timers are set in the create's own step: a create answered 503 (not
    # replicated in time, the instance dying) must still reach the fallback and overflow.
    timers = {
        **fallback_timer(settings, request_id, priority, now_ms),
        **overflow_timer(request_id, board=board, overflow_ms=overflow_ms, now_ms=now_ms),
    }
    call = CreateRequest(
        request_id=request_id,
        officer_id=officer.id,
        idempotency_key=idempotency_key,
        idempotency_ttl_s=IDEMPOTENCY_TTL_S,
        expire_ms=expire_ms,
        fields=fields,
        timers=timers,
        per_minute=per_minute,
    )
    try:
        result = await store.change(call, now_ms=now_ms)
    except Refused as e:
        if e.code == "rate_limited":
            raise over_the_limit(now_ms) from e
        raise _conflict(e) from e
    return _record(result), bool(result["created"])


async def cancel_request(
    store: Store,
    settings: Settings,
    officer: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> Request:
    """The owner withdraws a waiting request (a repeated key: the request as it now stands)."""
    call = CancelRequest(
        request_id=request_id,
        officer_id=officer.id,
        short_abandon_ms=settings.short_abandon_s * 1000,
    )
    return await _transition(store, call, now_ms=now_ms, idempotency=idempotency)


async def accept_request(
    store: Store,
    clinician: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> Request:
    """Take a waiting request: exactly one of several concurrent callers wins; a repeat of the
    winner's key answers the request as it now stands, not 409."""
    call = AcceptRequest(
        request_id=request_id, clinician_id=clinician.id, clinician_name=clinician.display_name
    )
    return await _transition(store, call, now_ms=now_ms, idempotency=idempotency)


async def take_next(
    store: Store, clinician: User, *, now_ms: int, idempotency: Idempotency | None = None
) -> Request:
    """Accept the first waiting request in service order; a repeated key answers the request
    the first call took, and takes no other."""
    try:
        call = TakeNext(clinician_id=clinician.id, clinician_name=clinician.display_name)
        result = await store.change(call, now_ms=now_ms, idempotency=idempotency)
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
) -> Request:
    """Hand a request back to the queue at its original place."""
    call = ReleaseRequest(
        request_id=request_id,
        clinician_id=clinician.id,
        reason=reason,
        min_remaining_ms=RELEASED_MIN_REMAINING_MS,
        actor_role=actor_role,
    )
    return await _transition(store, call, now_ms=now_ms, idempotency=idempotency)


async def file_outcome(
    store: Store,
    settings: Settings,
    clinician: User,
    request_id: str,
    outcome: OutcomeForm,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
    record: Request | None = None,
) -> Request:
    """Record the outcome once, opening its referral and any s298 notification; a repeated
    key answers the request as the first filing left it. An officer the clinician released
    without a time of their own was released at filing. `record`: the request as the caller
    just read it, if it did (what the outcome rules need is not read again)."""
    made_at = to_datetime(now_ms)
    facts, board = await _request_facts(store, request_id, record)
    targets = settings.response_targets
    check_outcome(outcome, facts, now=made_at, targets_h=targets)
    if outcome.officer_can_leave and outcome.officer_released_at is None:
        outcome = outcome.model_copy(update={"officer_released_at": made_at})
    referral, notify = _referral_of(settings, clinician, request_id, outcome, board, now_ms)
    notice = _notice_of(settings, clinician, request_id, outcome, now_ms)
    released = outcome.officer_released_at or made_at
    limit = latest_due(outcome, now=made_at, targets_h=targets)
    call = FileOutcome(
        request_id=request_id,
        clinician_id=clinician.id,
        outcome_json=outcome.model_dump_json(),
        disposition=outcome.disposition.value,
        triage_code=outcome.triage_code.value,
        conveyance=outcome.conveyance.value,
        officer_released_ms=int(released.timestamp() * 1000),
        referral_json=referral,
        notice_json=notice,
        overridden=is_override(outcome, latest_due=limit),
        notify_team=notify,
    )
    return await _transition(store, call, now_ms=now_ms, idempotency=idempotency)


def _referral_of(
    settings: Settings,
    clinician: User,
    request_id: str,
    outcome: OutcomeForm,
    board: str,
    now_ms: int,
) -> tuple[str | None, bool]:
    """The referral's JSON for the outcome script (None for none), and whether its team has
    a webhook to tell."""
    if outcome.referral is None:
        return None, False
    made_at = to_datetime(now_ms)
    team = team_of(outcome.referral.service.value, board)
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
    return referral, team in settings.team_webhook_urls


def _notice_of(
    settings: Settings, clinician: User, request_id: str, outcome: OutcomeForm, now_ms: int
) -> str | None:
    """The s298 notification's JSON for the outcome script (None without an s297 removal)."""
    if outcome.place_of_safety is None:
        return None
    due = mwc_notice_due(outcome.place_of_safety.removed_at, days=settings.mwc_notice_days)
    return _referral_json(
        request_id,
        now_ms,
        kind="mwc_notification",
        service="mental_welfare_commission",
        urgency="s298",
        due_ms=int(due.timestamp() * 1000),
        contact="",
        clinician_id=clinician.id,
    )


async def expire_request(store: Store, request_id: str, *, now_ms: int) -> bool:
    """Expire a request whose wait timer fired; False if it was no longer waiting."""
    try:
        await store.change(ExpireRequest(request_id=request_id), now_ms=now_ms)
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
    store: Store, call: ScriptCall, *, now_ms: int, idempotency: Idempotency | None = None
) -> Request:
    """Run a lifecycle script; the record as it left it."""
    try:
        result = await store.change(call, now_ms=now_ms, idempotency=idempotency)
    except Refused as e:
        raise _conflict(e) from e
    return _record(result)


def _record(result: dict[str, Any]) -> Request:
    """The record a script returned (empty if it was purged meanwhile: 404)."""
    record = record_of(result)
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
        "already_in_session": "You are in a session already: file its outcome or release it first.",
    }
    return Conflict(e.code, messages.get(e.code, f"Not allowed now: {e.code}."))
