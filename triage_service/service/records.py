"""Reading request records and shaping them for the person who reads them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from triage_service.domain.answers import Fallback, PersonRef, QueueItem, RequestOut
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import Availability, RequestStatus, Role
from triage_service.domain.models import Location, OutcomeForm, Screening, Subject
from triage_service.domain.routing import offer_board, offered_to
from triage_service.domain.rules import cssrs_ideation, cssrs_imminent_risk, estimate_wait_s
from triage_service.domain.safety import fallback_message, fallback_reason, honest_estimate
from triage_service.domain.times import to_datetime, wall_clock_ms
from triage_service.domain.users import User
from triage_service.store import RequestRecord, Store

if TYPE_CHECKING:
    from triage_service.service.presence import Staffing

WITHHELD_REASON = "(free text withheld)"
"""Supervisors see that an outcome was filed against the usual rules, not the clinician's
reason: it is free clinical text and may name or describe the person."""


async def load(store: Store, request_id: str) -> RequestRecord | None:
    """The stored hash of a request, or None."""
    return await store.requests.load(request_id)


def may_see(user: User, record: RequestRecord) -> bool:
    """Need-to-know for reading: officers their own; clinicians a waiting request or one they
    are or were assigned to; supervisors and admins any (de-identified by `shape`)."""
    if user.role is Role.OFFICER:
        return record["officer_id"] == user.id
    if user.role is Role.CLINICIAN:
        return record["status"] == RequestStatus.WAITING or was_assigned(user, record)
    return user.role in (Role.SUPERVISOR, Role.ADMIN)


def may_act_on(user: User, record: RequestRecord) -> bool:
    """Who may try a change on the request (its state then decides, 409): officers their own,
    any clinician (accepting a request another has taken is 409 `already_assigned`)."""
    if user.role is Role.OFFICER:
        return record["officer_id"] == user.id
    return user.role is Role.CLINICIAN


def was_assigned(user: User, record: Mapping[str, object]) -> bool:
    """Whether `user` is, or was before a release, the clinician of this request (a record or
    its `clinician_id` and `past_clinicians` fields)."""
    past = str(record.get("past_clinicians") or "").split(",")
    return record.get("clinician_id") == user.id or user.id in past


def assigned_among(user: User, found: Iterable[Mapping[str, object]]) -> list[bool]:
    """`was_assigned` for each of several records (or their clinician fields)."""
    return [was_assigned(user, record) for record in found]


def is_assigned(user: User, record: RequestRecord) -> bool:
    """Whether `user` is the clinician in session with this request."""
    return record.get("clinician_id") == user.id


def shape(
    record: RequestRecord,
    viewer: User,
    *,
    position: int | None = None,
    estimate_s: float | None = None,
    phone_fallback: str | None = None,
) -> RequestOut:
    """The request as `viewer` may see it: supervisors get no names, free text or places."""
    form: dict[str, Any] = json.loads(record["form"])
    outcome = json.loads(record["outcome"]) if record.get("outcome") else None
    out = RequestOut(
        id=record["id"],
        status=RequestStatus(record["status"]),
        priority=int(record["priority"]),
        urgency=record["urgency"],
        mode=record["mode"],
        created_at=to_datetime(record["created_ms"]),
        accepted_at=to_datetime(record.get("accepted_ms")),
        completed_at=to_datetime(record.get("completed_ms")),
        position=position,
        estimated_wait_s=estimate_s,
        phone_fallback=phone_fallback,
        officer=PersonRef(id=record["officer_id"], display_name=record["officer_name"]),
        clinician=(
            PersonRef(id=record["clinician_id"], display_name=record["clinician_name"])
            if record.get("clinician_id")
            else None
        ),
        incident_ref=form["incident_ref"],
        location=Location(**{**form["location"], "area_id": record.get("area_id") or None}),
        board=record.get("board") or None,
        subject=Subject(**form["subject"]),
        concerns=form["concerns"],
        screening=Screening(**form["screening"]),
        notes=form["notes"],
        outcome=OutcomeForm(**outcome) if outcome else None,
        feedback_given=bool(record.get("feedback_ms")) if outcome else None,
    )
    if viewer.role is Role.SUPERVISOR or viewer.role is Role.ADMIN:
        return deidentify(out)
    if viewer.role is Role.OFFICER and out.outcome:
        out.outcome = out.outcome.model_copy(update={"summary": "", "override_reason": None})
    return out


def deidentify(out: RequestOut) -> RequestOut:
    """Strip names, free text and coordinates, keeping codes and the area."""
    area = out.location.area if out.location else None
    area_id = out.location.area_id if out.location else None
    subject = out.subject.model_copy(update={"known_name": None}) if out.subject else None
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
            "location": Location(description="(withheld)", area=area, area_id=area_id),
            "subject": subject,
            "screening": None,
            "outcome": outcome,
        }
    )


def queue_item(record: RequestRecord, now_ms: int, *, identifying: bool = True) -> QueueItem:
    """What a clinician sees to choose a request: no names; supervisors not even the place."""
    form = json.loads(record["form"])
    created = int(record["created_ms"])
    item = QueueItem(
        id=record["id"],
        priority=int(record["priority"]),
        urgency=record["urgency"],
        created_at=to_datetime(created),
        waited_s=max(0.0, (now_ms - created) / 1000),
        area=form["location"].get("area"),
        area_id=record.get("area_id") or None,
        board=record.get("board") or None,
        concerns=form["concerns"],
        mode=record["mode"],
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


async def waiting_position(
    store: Store, request_id: str, staff: Staffing | None = None
) -> tuple[int | None, float | None]:
    """1-based queue position and estimated wait in seconds (None if not waiting), from
    the clinicians it is offered to (`staff`; default every clinician)."""
    rank, queue = await store.requests.position(request_id)
    if rank is None:
        return None, None
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


def offered_board(record: RequestRecord, now_ms: int) -> str:
    """The board a waiting request is offered within now (empty: every clinician)."""
    return offer_board(
        record.get("board") or "",
        overflow_ms=int(record.get("overflow_ms") or 0),
        now_ms=now_ms,
    )


def offered_to_user(user: User, record: RequestRecord, now_ms: int) -> bool:
    """Whether a waiting request is offered to this clinician now (their boards, or past
    its overflow time); supervisors see the requests of the boards they cover."""
    return offered_to(
        user.boards,
        board=record.get("board") or "",
        overflow_ms=(int(record.get("overflow_ms") or 0) if user.role is Role.CLINICIAN else 2**62),
        now_ms=now_ms,
    )


def phone_for(record: RequestRecord, areas: AreaDirectory | None, default: str) -> str:
    """The phone fallback of the request's area (the service's when it has none)."""
    area = areas.area(record.get("area_id") or "") if areas else None
    return area.phone_fallback if area else default


async def shape_for(
    store: Store,
    record: RequestRecord,
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
    phone_fallback = phone_for(record, areas, phone_fallback)
    position = estimate = on_duty = None
    if record["status"] == RequestStatus.WAITING:
        # Imported here: presence needs the lifecycle, which needs this module.
        from triage_service.service.presence import staffing

        board = offered_board(record, now)
        staff = await staffing(store, now_ms=now, board=board)
        position, estimate = await waiting_position(store, record["id"], staff if board else None)
        on_duty = staff.on_duty
        if estimate is not None:
            remaining_s = (int(record.get("expire_ms") or now) - now) / 1000
            estimate = honest_estimate(
                estimate, clinicians_on_duty=on_duty, remaining_s=remaining_s
            )
    expired = record["status"] == RequestStatus.EXPIRED
    out = shape(
        record,
        viewer,
        position=position,
        estimate_s=estimate,
        phone_fallback=phone_fallback if expired else None,
    )
    out.clinicians_on_duty = on_duty
    out.fallback = fallback_for(
        record, on_duty or 0, now_ms=now, phone=phone_fallback, after_s=fallback_after_s or {}
    )
    return out


def fallback_for(
    record: RequestRecord, on_duty: int, *, now_ms: int, phone: str, after_s: Mapping[int, int]
) -> Fallback | None:
    """The phone fallback this request's officer is offered now, if any."""
    reason = fallback_reason(
        status=record["status"],
        clinicians_on_duty=on_duty,
        waited_s=(now_ms - int(record["created_ms"])) / 1000,
        fallback_after_s=after_s.get(int(record["priority"])),
    )
    if reason is None:
        return None
    return Fallback(reason=reason, phone=phone, message=fallback_message(reason, phone))


async def load_many(store: Store, request_ids: list[str]) -> list[RequestRecord]:
    """Several request hashes in one round trip, skipping any that vanished."""
    return await store.requests.load_many(request_ids)
