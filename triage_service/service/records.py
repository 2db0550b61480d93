"""Reading request records and shaping them for the person who reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from triage_service.domain.answers import Fallback, PersonRef, QueueItem, RequestOut
from triage_service.domain.areas import DEFAULT_EMERGENCY_NUMBER, AreaDirectory
from triage_service.domain.codes import Availability, RequestStatus, Role
from triage_service.domain.models import Location, OutcomeForm, Screening, Subject
from triage_service.domain.routing import covers_board, offer_board, offered_to
from triage_service.domain.rules import cssrs_ideation, cssrs_imminent_risk, estimate_wait_s
from triage_service.domain.safety import fallback_message, fallback_reason, honest_estimate
from triage_service.domain.times import to_datetime, wall_clock_ms
from triage_service.domain.users import User
from triage_service.service.transfer_view import record_view
from triage_service.store import QueueState, Request, Store
from triage_service.store.presence import Staffing
from triage_service.store.requests import Assignment

WITHHELD_REASON = "(free text withheld)"
# What identifies the person, withheld from supervisors: their name, CHI number, birth date.
IDENTIFIERS_WITHHELD = {"known_name": None, "chi": None, "date_of_birth": None}
"""Supervisors see that an outcome was filed against the usual rules, not the clinician's
reason: it is free clinical text and may name or describe the person."""


async def load(store: Store, request_id: str) -> Request | None:
    """The stored hash of a request, or None."""
    return await store.requests.load(request_id)


def may_see(user: User, record: Request, now_ms: int) -> bool:
    """Need-to-know for reading: officers their own; clinicians one they are or were
    assigned to, or a waiting one once it is offered to them (their boards, or past its
    overflow time); supervisors and admins those of the boards they cover (de-identified by
    `shape`)."""
    if user.role is Role.OFFICER:
        return record.officer_id == user.id
    if user.role is Role.CLINICIAN:
        if was_assigned(user, record):
            return True
        return record.status is RequestStatus.WAITING and offered_to_user(user, record, now_ms)
    return user.role in (Role.SUPERVISOR, Role.ADMIN) and covers_board(user.boards, record.board)


def may_act_on(user: User, record: Request) -> bool:
    """Who may try a change on the request (its state then decides, 409): officers their own,
    any clinician (accepting a request another has taken is 409 `already_assigned`)."""
    if user.role is Role.OFFICER:
        return record.officer_id == user.id
    return user.role is Role.CLINICIAN


def was_assigned(user: User, record: Request | Assignment) -> bool:
    """Whether `user` is, or was before a release, the clinician of this request (a record or
    its `Assignment`)."""
    return record.clinician_id == user.id or user.id in record.past_clinicians


def is_assigned(user: User, record: Request) -> bool:
    """Whether `user` is the clinician in session with this request."""
    return record.clinician_id == user.id


def shape(
    record: Request,
    viewer: User,
    *,
    position: int | None = None,
    estimate_s: float | None = None,
    phone_fallback: str | None = None,
) -> RequestOut:
    """The request as `viewer` may see it: supervisors get no names, free text or places."""
    form, outcome = record.form, record.outcome
    out = RequestOut(
        id=record.id,
        status=record.status,
        priority=record.priority,
        urgency=record.urgency,
        mode=record.mode,
        created_at=to_datetime(record.created_ms),
        accepted_at=to_datetime(record.accepted_ms),
        completed_at=to_datetime(record.completed_ms),
        position=position,
        estimated_wait_s=estimate_s,
        phone_fallback=phone_fallback,
        officer=PersonRef(
            id=record.officer_id,
            display_name=record.officer_name,
            phone=record.officer_phone,
        ),
        clinician=(
            PersonRef(
                id=record.clinician_id,
                display_name=record.clinician_name or "",
                phone=record.clinician_phone,
            )
            if record.clinician_id
            else None
        ),
        incident_ref=form["incident_ref"],
        location=Location(**{**form["location"], "area_id": record.area_id}),
        board=record.board,
        subject=Subject(**form["subject"]),
        concerns=form["concerns"],
        screening=Screening(**form["screening"]),
        notes=form["notes"],
        consent=record.consent or "given",  # before v1.2 it was always given
        capacity_note=form.get("capacity_note"),
        outcome=OutcomeForm(**outcome) if outcome else None,
        feedback_given=bool(record.feedback_ms) if outcome else None,
        **record_view(record),
    )
    if viewer.role is Role.SUPERVISOR or viewer.role is Role.ADMIN:
        return deidentify(out)
    if viewer.role is Role.OFFICER:
        if out.clinician:  # the clinician's number is for the people they hand over to
            out.clinician = out.clinician.model_copy(update={"phone": None})
        if out.outcome:
            out.outcome = out.outcome.model_copy(update={"summary": "", "override_reason": None})
        out.transfer = None  # an offer is between the clinicians until it is taken
    return out


def deidentify(out: RequestOut) -> RequestOut:
    """Strip names, free text and coordinates, keeping codes and the area."""
    area = out.location.area if out.location else None
    area_id = out.location.area_id if out.location else None
    subject = out.subject.model_copy(update=IDENTIFIERS_WITHHELD) if out.subject else None
    outcome = None
    if out.outcome:
        outcome = out.outcome.model_copy(
            update={
                "summary": "",
                "advice_to_officer": "",
                "place_of_safety": None,
                "override_reason": out.outcome.override_reason and WITHHELD_REASON,
                "referral": (
                    out.outcome.referral.model_copy(update={"contact": None})
                    if out.outcome.referral
                    else None
                ),
            }
        )
    return out.model_copy(
        update={
            "officer": None,
            "clinician": None,
            "incident_ref": None,
            "notes": None,
            "capacity_note": None,
            "location": Location(description="(withheld)", area=area, area_id=area_id),
            "subject": subject,
            "screening": None,
            "outcome": outcome,
            "clinicians": [],
            "transfers": [],
            "transfer": None,
        }
    )


def queue_item(record: Request, now_ms: int, *, identifying: bool = True) -> QueueItem:
    """What a clinician sees to choose a request: no names; supervisors not even the place."""
    form, created = record.form, record.created_ms
    item = QueueItem(
        id=record.id,
        priority=record.priority,
        urgency=record.urgency,
        created_at=to_datetime(created),
        waited_s=max(0.0, (now_ms - created) / 1000),
        area=form["location"].get("area"),
        area_id=record.area_id,
        board=record.board,
        concerns=form["concerns"],
        mode=record.mode,
        age_band=form["subject"]["age_band"],
    )
    if identifying:
        cssrs = (form.get("screening") or {}).get("cssrs") or {}
        item.risk_flag = (
            "imminent"
            if cssrs_imminent_risk(cssrs)
            else "ideation"
            if cssrs_ideation(cssrs)
            else None
        )
        item.incident_ref = form["incident_ref"]
        item.place = form["location"].get("description")
    return item


def position_estimate(
    rank: int, queue: QueueState, staff: Staffing | None = None
) -> tuple[int, float]:
    """1-based queue position and estimated wait in seconds of the request at 0-based `rank`,
    from the clinicians it is offered to (`staff`; default every clinician)."""
    estimate = estimate_wait_s(
        position=rank + 1,
        recent_waits_s=[ms / 1000 for ms in queue.waits_ms],
        recent_sessions_s=[ms / 1000 for ms in queue.sessions_ms],
        clinicians_available=(
            staff.available if staff else queue.states.count(Availability.AVAILABLE.value)
        ),
        clinicians_busy=staff.busy if staff else queue.states.count(Availability.BUSY.value),
    )
    return rank + 1, round(estimate, 1)


def offered_board(record: Request, now_ms: int) -> str:
    """The board a waiting request is offered within now (empty: every clinician)."""
    return offer_board(record.board or "", overflow_ms=record.overflow_ms or 0, now_ms=now_ms)


def offered_to_user(user: User, record: Request, now_ms: int) -> bool:
    """Whether a waiting request is offered to this clinician now (their boards, or past
    its overflow time); supervisors see the requests of the boards they cover."""
    if user.role is not Role.CLINICIAN:
        return covers_board(user.boards, record.board)
    return offered_to(
        user.boards,
        board=record.board or "",
        overflow_ms=record.overflow_ms or 0,
        now_ms=now_ms,
    )


def phone_for(record: Request, areas: AreaDirectory | None, default: str) -> str:
    """The phone fallback of the request's area (the service's when it has none)."""
    area = areas.area(record.area_id or "") if areas else None
    return area.phone_fallback if area else default


@dataclass(frozen=True, slots=True)
class WaitingPlace:
    """What a waiting request's officer is told of its place: the queue position, the honest
    estimate and the clinicians on duty among those it is offered to (all None once it no
    longer waits)."""

    position: int | None = None
    estimate_s: float | None = None
    on_duty: int | None = None


async def shape_for(
    store: Store,
    record: Request,
    viewer: User,
    *,
    phone_fallback: str,
    now_ms: int | None = None,
    fallback_after_s: Mapping[int, int] | None = None,
    areas: AreaDirectory | None = None,
) -> RequestOut:
    """`shape` plus the live queue position, who is on duty (of the clinicians it is offered
    to), an honest estimate and the phone fallback of its area (nobody on duty, a long wait,
    or expired)."""
    now = wall_clock_ms() if now_ms is None else now_ms
    place = WaitingPlace()
    if record.status is RequestStatus.WAITING:
        place = await waiting_place(store, record, now)
    return shape_placed(
        record,
        viewer,
        place,
        phone_fallback=phone_fallback,
        now_ms=now,
        fallback_after_s=fallback_after_s,
        areas=areas,
    )


async def waiting_place(store: Store, record: Request, now_ms: int) -> WaitingPlace:
    """A waiting request's place, read from the store (one round trip)."""
    board = offered_board(record, now_ms)
    staff, rank, queue = await store.presence.place(record.id, board=board, now_ms=now_ms)
    if rank is None:
        return WaitingPlace(on_duty=staff.on_duty)
    position, estimate = position_estimate(rank, queue, staff if board else None)
    remaining_s = ((record.expire_ms or now_ms) - now_ms) / 1000
    honest = honest_estimate(estimate, clinicians_on_duty=staff.on_duty, remaining_s=remaining_s)
    return WaitingPlace(position, honest, staff.on_duty)


def shape_placed(
    record: Request,
    viewer: User,
    place: WaitingPlace,
    *,
    phone_fallback: str,
    now_ms: int,
    fallback_after_s: Mapping[int, int] | None = None,
    areas: AreaDirectory | None = None,
) -> RequestOut:
    """`shape` with the request's place (`WaitingPlace`, as `waiting_place` reads it or one
    queue broadcast computes it for every waiting request) and its phone fallback."""
    phone_fallback = phone_for(record, areas, phone_fallback)
    expired = record.status is RequestStatus.EXPIRED
    out = shape(
        record,
        viewer,
        position=place.position,
        estimate_s=place.estimate_s,
        phone_fallback=phone_fallback if expired else None,
    )
    out.clinicians_on_duty = place.on_duty
    out.emergency_number = areas.emergency_number(record.board) if areas else None
    out.fallback = fallback_for(
        record,
        place.on_duty or 0,
        now_ms=now_ms,
        phone=phone_fallback,
        after_s=fallback_after_s or {},
        emergency_number=out.emergency_number,
    )
    return out


def fallback_for(
    record: Request,
    on_duty: int,
    *,
    now_ms: int,
    phone: str,
    after_s: Mapping[int, int],
    emergency_number: str | None = None,
) -> Fallback | None:
    """The phone fallback this request's officer is offered now, if any (telling them the
    board's emergency number)."""
    reason = fallback_reason(
        status=record.status,
        clinicians_on_duty=on_duty,
        waited_s=(now_ms - record.created_ms) / 1000,
        fallback_after_s=after_s.get(record.priority),
    )
    if reason is None:
        return None
    emergency = emergency_number or DEFAULT_EMERGENCY_NUMBER
    message = fallback_message(reason, phone, emergency_number=emergency)
    return Fallback(reason=reason, phone=phone, message=message)


async def load_many(store: Store, request_ids: list[str]) -> list[Request]:
    """Several request hashes in one round trip, skipping any that vanished."""
    return await store.requests.load_many(request_ids)
