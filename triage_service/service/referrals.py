"""Follow-up referrals and s298 notifications: listing with due times, the receiving team's
inbox with its handover, and status updates (each with its own time)."""

from __future__ import annotations

import json
from typing import Literal

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import Handover, OutcomeWarning, PlaceRef, ReferralOut
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import (
    CLINICIAN_STATUSES,
    OPEN_REFERRAL_STATUSES,
    RECEIVER_STATUSES,
    ReferralStatus,
    Role,
)
from triage_service.domain.errors import Conflict, Invalid, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import Risk
from triage_service.domain.routing import covers_board
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.records import was_assigned
from triage_service.store import Refused, Store
from triage_service.store.changes import UpdateReferral

Scope = Literal["open", "overdue", "all"]
LIST_LIMIT = 500
STAMPED = ("accepted", "declined", "completed", "did_not_attend", "cancelled")


async def list_referrals(
    store: Store,
    scope: Scope,
    *,
    now_ms: int,
    mine: User | None = None,
    directory: AreaDirectory | None = None,
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
    areas = await areas_of(store, directory, [r.request_id for r in referrals])
    return [r.model_copy(update={"area": a}) for r, a in zip(referrals, areas, strict=True)]


def area_ref(
    directory: AreaDirectory | None, area_id: str | None, free_text: str | None
) -> PlaceRef | None:
    """The area of a request by its directory id and name (the free text the officer gave
    when it has no directory area)."""
    area = directory.area(area_id or "") if directory else None
    if area is not None:
        return PlaceRef(id=area.id, name=area.name)
    return PlaceRef(id=None, name=free_text) if free_text else None


async def areas_of(
    store: Store, directory: AreaDirectory | None, request_ids: list[str]
) -> list[PlaceRef | None]:
    """The area of each request, in one round trip."""
    places = await store.referrals.places(request_ids)
    return [area_ref(directory, area_id, text) for area_id, text in places]


async def of_clinician(
    store: Store, clinician: User, found: list[ReferralOut]
) -> list[ReferralOut]:
    """Need-to-know: only the referrals of requests `clinician` is or was assigned to."""
    rows = await store.requests.assignments([r.request_id for r in found])
    return [r for r, row in zip(found, rows, strict=True) if was_assigned(clinician, row)]


async def of_boards(store: Store, user: User, found: list[ReferralOut]) -> list[ReferralOut]:
    """Board scope: only the referrals of requests of the boards `user` covers (all when
    they cover every board)."""
    if not user.boards:
        return found
    boards = await store.requests.boards([r.request_id for r in found])
    return [r for r, board in zip(found, boards, strict=True) if covers_board(user.boards, board)]


def in_scope(referral: ReferralOut, scope: Scope) -> bool:
    """Whether a referral belongs in the `open`, `overdue` or `all` list."""
    if scope == "all":
        return True
    return referral.overdue if scope == "overdue" else referral.status in OPEN_REFERRAL_STATUSES


async def team_inbox(
    store: Store,
    receiver: User,
    scope: Scope,
    *,
    now_ms: int,
    directory: AreaDirectory | None = None,
) -> list[ReferralOut]:
    """The receiver's team's referrals, each with its handover and its area and nothing else
    of the record: open (or overdue) soonest due first, or all newest first."""
    ids = await store.referrals.of_team(receiver.team or "", scope, now_ms=now_ms, limit=LIST_LIMIT)
    rows = [row for row in await store.referrals.load_many(ids) if row]
    request_ids = [row["request_id"] for row in rows]
    outcomes = await store.referrals.outcomes(request_ids)
    areas = await areas_of(store, directory, request_ids)
    return [
        for_team(shape_referral(row, now_ms), outcome, area)
        for row, outcome, area in zip(rows, outcomes, areas, strict=True)
    ]


def for_team(
    referral: ReferralOut, outcome_json: str | None, area: PlaceRef | None = None
) -> ReferralOut:
    """The referral as its receiving team sees it: the handover from the filed outcome, and
    the area where the person was (the team must find them)."""
    outcome = json.loads(outcome_json) if outcome_json else {}
    handover = Handover(
        summary=outcome.get("summary", ""),
        risk=Risk(**outcome["risk"]) if outcome.get("risk") else None,
        advice=outcome.get("advice_to_officer", ""),
        contact=referral.contact,
        due_at=referral.due_at,
    )
    return referral.model_copy(update={"handover": handover, "area": area})


async def team_referral(
    store: Store,
    receiver: User,
    referral_id: str,
    *,
    now_ms: int,
    directory: AreaDirectory | None = None,
) -> ReferralOut:
    """One referral of the receiver's team with its handover; any other is not found."""
    row = await store.referrals.load(referral_id)
    if not row or not receiver.team or row.get("team") != receiver.team:
        raise NotFound("referral")
    (outcome,) = await store.referrals.outcomes([row["request_id"]])
    (area,) = await areas_of(store, directory, [row["request_id"]])
    return for_team(shape_referral(row, now_ms), outcome, area)


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
    directory: AreaDirectory | None = None,
    idempotency: Idempotency | None = None,
) -> ReferralOut:
    """Move a referral on: receivers accept, decline, complete or record a non-attendance on
    their own team's referrals; clinicians accept, complete, record DNA or cancel; an s298
    notification is only sent (`completed`) or cancelled. A repeat of the same key answers
    the referral as it now stands, not 409."""
    check_status_for(actor, ReferralStatus(status))
    try:
        call = UpdateReferral(
            referral_id=referral_id,
            status=status,
            note=note,
            actor_id=actor.id,
            role=actor.role.value,
            team=actor.team,
        )
        await store.change(call, now_ms=now_ms, idempotency=idempotency)
    except Refused as e:
        if e.code == "not_found":
            raise NotFound("referral") from e
        if e.code == "idempotency_key_reused":
            raise idem.reused() from e
        if e.code == "illegal_transition":
            raise Conflict(e.code, f"A referral that is {e.status} cannot become {status}.") from e
        if e.code == "notice_status":
            raise Invalid(
                "validation_error",
                "An s298 notification is either sent (completed) or cancelled.",
                {"status": "completed (sent) or cancelled for an s298 notification"},
            ) from e
        raise Conflict(e.code, f"The referral is already {e.status}.") from e
    if actor.role is Role.RECEIVER:
        return await team_referral(store, actor, referral_id, now_ms=now_ms, directory=directory)
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


async def team_staffed(store: Store, team: str) -> bool:
    """Whether an enabled receiver account belongs to `team` (someone can read its inbox)."""
    accounts = await store.accounts.load_all()
    return any(
        a.get("role") == Role.RECEIVER and a.get("team") == team and not a.get("disabled")
        for a in accounts
    )


def unstaffed_warning(directory: AreaDirectory, referral: ReferralOut) -> OutcomeWarning:
    """What the clinician is told when nobody staffs the referral's team: phone the team."""
    service, _, board_id = (referral.team or "").partition(":")
    board = directory.board(board_id)
    found = board.team(service) if board else None
    where = f"{service.replace('_', ' ')} of {board.name if board else board_id}"
    how = f"phone {found.name} on {found.phone}" if found else "phone the team yourself"
    return OutcomeWarning(
        code="team_unstaffed",
        message=f"Nobody on this service reads the {where} inbox: the referral is filed, "
        f"but {how} now so that they know.",
        team=referral.team or "",
        name=found.name if found else None,
        phone=found.phone if found else None,
    )
