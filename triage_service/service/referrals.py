"""Follow-up referrals and s298 notifications: listing with due times and status updates."""

from __future__ import annotations

from typing import Literal

from triage_service.domain.codes import OPEN_REFERRAL_STATUSES, ReferralStatus
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.models import ReferralOut
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.records import assigned_among
from triage_service.store import Refused, Store

Scope = Literal["open", "overdue", "all"]
LIST_LIMIT = 500
ASSIGNMENT = ("clinician_id", "past_clinicians")  # who is or was a request's clinician


async def list_referrals(store: Store, scope: Scope, *, now_ms: int) -> list[ReferralOut]:
    """Open ones soonest due first; `all` newest first (the latest 500)."""
    if scope == "all":
        ids = await store.referrals.newest(LIST_LIMIT)
    else:
        ids = await store.referrals.open_due_by(
            now_ms - 1 if scope == "overdue" else "+inf", LIST_LIMIT
        )
    rows = await store.referrals.load_many(ids)
    referrals = [shape_referral(row, now_ms) for row in rows if row]
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


async def update_referral(
    store: Store, referral_id: str, status: str, note: str | None, *, actor_id: str, now_ms: int
) -> ReferralOut:
    """Move a referral on (accepted, completed, did_not_attend, cancelled)."""
    try:
        await store.run("referral_update", now_ms, referral_id, status, note or "", actor_id)
    except Refused as e:
        if e.code == "not_found":
            raise NotFound("referral") from e
        raise Conflict(e.code, f"The referral is already {e.status}.") from e
    return await get_referral(store, referral_id, now_ms=now_ms)


async def get_referral(store: Store, referral_id: str, *, now_ms: int) -> ReferralOut:
    """One referral by id."""
    row = await store.referrals.load(referral_id)
    if not row:
        raise NotFound("referral")
    return shape_referral(row, now_ms)


def shape_referral(row: dict[str, str], now_ms: int) -> ReferralOut:
    """The stored hash as the API's Referral."""
    status = ReferralStatus(row["status"])
    due_ms = int(row["due_ms"])
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
    )
