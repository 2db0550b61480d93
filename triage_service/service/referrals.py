"""Follow-up referrals and s298 notifications: listing with due times, the receiving team's
inbox with its handover, and status updates (each with its own time)."""

from __future__ import annotations

import json
from typing import Literal

from triage_service.domain.answers import Handover, ReferralOut
from triage_service.domain.codes import (
    CLINICIAN_STATUSES,
    OPEN_REFERRAL_STATUSES,
    RECEIVER_STATUSES,
    ReferralStatus,
    Role,
)
from triage_service.domain.errors import Conflict, Invalid, NotFound
from triage_service.domain.models import Risk
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.records import assigned_among
from triage_service.store import Refused, Store

Scope = Literal["open", "overdue", "all"]
LIST_LIMIT = 500
ASSIGNMENT = ("clinician_id", "past_clinicians")  # who is or was a request's clinician
STAMPED = ("accepted", "declined", "completed", "did_not_attend", "cancelled")


async def list_referrals(
    store: Store, scope: Scope, *, now_ms: int, mine: User | None = None
) -> list[ReferralOut]:
    """Open ones soonest due first; `all` newest first (the latest 500); `mine`: only the
    referrals that clinician made (newest first, then filtered by `scope`)."""
    if mine is not None:
        ids = await store.referrals.of_clinician(mine.id, LIST_LIMIT)
    elif scope == "all":
        ids = await store.referrals.newest(LIST_LIMIT)
    else:
        ids = await store.referrals.open_due_by(
            now_ms - 1 if scope == "overdue" else "+inf", LIST_LIMIT
        )
    rows = await store.referrals.load_many(ids)
    referrals = [shape_referral(row, now_ms) for row in rows if row]
    if mine is not None:
        referrals = [r for r in referrals if in_scope(r, scope)]
    areas = await store.referrals.areas([r.request_id for r in referrals])
    return [r.model_copy(update={"area": a or None}) for r, a in zip(referrals, areas, strict=True)]


async def of_clinician(
    store: Store, clinician: User, found: list[ReferralOut]
) -> list[ReferralOut]:
    """Need-to-know: only the referrals of requests `clinician` is or was assigned to."""
    rows = await store.requests.fields_of([r.request_id for r in found], ASSIGNMENT)
    return [r for r, mine in zip(found, assigned_among(clinician, rows), strict=True) if mine]


async def ensure_assigned(store: Store, clinician: User, referral_id: str) -> None:
    """`NotFound` unless the referral's request is one `clinician` is or was assigned to."""
    (row,) = await store.referrals.fields_of([referral_id], ("request_id",))
    request_id = row["request_id"]
    rows = await store.requests.fields_of([request_id], ASSIGNMENT) if request_id else []
    if not any(assigned_among(clinician, rows)):
        raise NotFound("referral")


def in_scope(referral: ReferralOut, scope: Scope) -> bool:
    """Whether a referral belongs in the `open`, `overdue` or `all` list."""
    if scope == "all":
        return True
    return referral.overdue if scope == "overdue" else referral.status in OPEN_REFERRAL_STATUSES


async def team_inbox(
    store: Store, receiver: User, scope: Scope, *, now_ms: int
) -> list[ReferralOut]:
    """The receiver's team's referrals, each with its handover and nothing else of the record:
    open (or overdue) soonest due first, or all newest first."""
    ids = await store.referrals.of_team(receiver.team or "", scope, now_ms=now_ms, limit=LIST_LIMIT)
    rows = [row for row in await store.referrals.load_many(ids) if row]
    outcomes = await store.referrals.outcomes([row["request_id"] for row in rows])
    return [
        for_team(shape_referral(row, now_ms), outcome)
        for row, outcome in zip(rows, outcomes, strict=True)
    ]


def for_team(referral: ReferralOut, outcome_json: str | None) -> ReferralOut:
    """The referral as its receiving team sees it: the handover from the filed outcome."""
    outcome = json.loads(outcome_json) if outcome_json else {}
    handover = Handover(
        summary=outcome.get("summary", ""),
        risk=Risk(**outcome["risk"]) if outcome.get("risk") else None,
        advice=outcome.get("advice_to_officer", ""),
        contact=referral.contact,
        due_at=referral.due_at,
    )
    return referral.model_copy(update={"handover": handover, "area": None})


async def team_referral(
    store: Store, receiver: User, referral_id: str, *, now_ms: int
) -> ReferralOut:
    """One referral of the receiver's team with its handover; any other is not found."""
    row = await store.referrals.load(referral_id)
    if not row or not receiver.team or row.get("team") != receiver.team:
        raise NotFound("referral")
    (outcome,) = await store.referrals.outcomes([row["request_id"]])
    return for_team(shape_referral(row, now_ms), outcome)


async def team_notice(store: Store, referral_id: str, *, now_ms: int) -> tuple[str, bytes] | None:
    """A new referral as its team's webhook is told: the team and the JSON body (the referral's
    codes and due time; no names or clinical free text: the team reads those signed in)."""
    row = await store.referrals.load(referral_id)
    if not row or not row.get("team"):
        return None
    referral = shape_referral(row, now_ms).model_dump(
        mode="json",
        include={
            "id",
            "request_id",
            "team",
            "service",
            "urgency",
            "due_at",
            "status",
            "created_at",
        },
    )
    return row["team"], json.dumps({"referral": referral}, separators=(",", ":")).encode()


async def update_referral(
    store: Store,
    referral_id: str,
    status: str,
    note: str | None,
    *,
    actor: User,
    now_ms: int,
) -> ReferralOut:
    """Move a referral on: receivers accept, decline, complete or record a non-attendance on
    their own team's referrals; clinicians accept, complete, record DNA or cancel."""
    check_status_for(actor, ReferralStatus(status))
    try:
        await store.run(
            "referral_update",
            now_ms,
            referral_id,
            status,
            note or "",
            actor.id,
            actor.role.value,
            actor.team or "",
        )
    except Refused as e:
        if e.code == "not_found":
            raise NotFound("referral") from e
        if e.code == "illegal_transition":
            raise Conflict(e.code, f"A referral that is {e.status} cannot become {status}.") from e
        raise Conflict(e.code, f"The referral is already {e.status}.") from e
    if actor.role is Role.RECEIVER:
        return await team_referral(store, actor, referral_id, now_ms=now_ms)
    return await get_referral(store, referral_id, now_ms=now_ms)


def check_status_for(actor: User, status: ReferralStatus) -> None:
    """A status this role may not set is a 422 naming `status`."""
    allowed = RECEIVER_STATUSES if actor.role is Role.RECEIVER else CLINICIAN_STATUSES
    if status not in allowed:
        choices = ", ".join(sorted(s.value for s in allowed))
        raise Invalid(
            "validation_error",
            f"A {actor.role.value} may set the status to {choices}.",
            {"status": f"one of {choices}"},
        )


async def get_referral(store: Store, referral_id: str, *, now_ms: int) -> ReferralOut:
    """One referral by id."""
    row = await store.referrals.load(referral_id)
    if not row:
        raise NotFound("referral")
    return shape_referral(row, now_ms)


def shape_referral(row: dict[str, str], now_ms: int) -> ReferralOut:
    """The stored hash as the API's Referral (without its handover)."""
    status = ReferralStatus(row["status"])
    due_ms = int(row["due_ms"])
    stamps = {f"{name}_at": to_datetime(row.get(f"{name}_ms")) for name in STAMPED}
    return ReferralOut(
        id=row["id"],
        request_id=row["request_id"],
        kind=row.get("kind", "referral"),
        service=row["service"],
        urgency=row["urgency"],
        due_at=to_datetime(due_ms),
        status=status,
        overdue=status in OPEN_REFERRAL_STATUSES and due_ms < now_ms,
        contact=row.get("contact") or None,
        note=row.get("note") or None,
        created_at=to_datetime(row["created_ms"]),
        updated_at=to_datetime(row["updated_ms"]),
        team=row.get("team") or None,
        decline_reason=row.get("decline_reason") or None,
        **stamps,
    )
