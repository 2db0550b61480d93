"""Reading request records and shaping them for the person who reads them."""

from __future__ import annotations

import json
from typing import Any

from triage_service.domain.codes import Availability, RequestStatus, Role
from triage_service.domain.models import (
    Location,
    OutcomeForm,
    PersonRef,
    QueueItem,
    RequestOut,
    Screening,
    Subject,
)
from triage_service.domain.rules import estimate_wait_s
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.store import RequestRecord, Store


async def load(store: Store, request_id: str) -> RequestRecord | None:
    """The stored hash of a request, or None."""
    return await store.requests.load(request_id)


def may_see(user: User, record: RequestRecord) -> bool:
    """Need-to-know: officers see their own, clinicians and supervisors any request."""
    if user.role is Role.OFFICER:
        return record["officer_id"] == user.id
    return user.role in (Role.CLINICIAN, Role.SUPERVISOR, Role.ADMIN)


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
        location=Location(**form["location"]),
        subject=Subject(**form["subject"]),
        concerns=form["concerns"],
        screening=Screening(**form["screening"]),
        notes=form["notes"],
        outcome=OutcomeForm(**outcome) if outcome else None,
    )
    if viewer.role is Role.SUPERVISOR or viewer.role is Role.ADMIN:
        return deidentify(out)
    if viewer.role is Role.OFFICER and out.outcome:
        out.outcome = out.outcome.model_copy(update={"summary": ""})
    return out


def deidentify(out: RequestOut) -> RequestOut:
    """Strip names, free text and coordinates, keeping codes and the area."""
    area = out.location.area if out.location else None
    subject = out.subject.model_copy(update={"known_name": None}) if out.subject else None
    outcome = None
    if out.outcome:
        outcome = out.outcome.model_copy(
            update={
                "summary": "",
                "advice_to_officer": "",
                "place_of_safety": None,
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
            "location": Location(description="(withheld)", area=area),
            "subject": subject,
            "screening": None,
            "outcome": outcome,
        }
    )


def queue_item(record: RequestRecord, now_ms: int) -> QueueItem:
    """What a clinician sees to choose a request: no names."""
    form = json.loads(record["form"])
    created = int(record["created_ms"])
    return QueueItem(
        id=record["id"],
        priority=int(record["priority"]),
        urgency=record["urgency"],
        created_at=to_datetime(created),
        waited_s=max(0.0, (now_ms - created) / 1000),
        area=form["location"].get("area"),
        concerns=form["concerns"],
        mode=record["mode"],
        age_band=form["subject"]["age_band"],
    )


async def waiting_position(store: Store, request_id: str) -> tuple[int | None, float | None]:
    """1-based queue position and estimated wait in seconds (None if not waiting)."""
    rank, queue = await store.requests.position(request_id)
    if rank is None:
        return None, None
    estimate = estimate_wait_s(
        position=rank + 1,
        recent_waits_s=[ms / 1000 for ms in queue.waits_ms],
        recent_sessions_s=[ms / 1000 for ms in queue.sessions_ms],
        clinicians_available=queue.states.count(Availability.AVAILABLE.value),
        clinicians_busy=queue.states.count(Availability.BUSY.value),
    )
    return rank + 1, round(estimate, 1)


async def shape_for(
    store: Store, record: RequestRecord, viewer: User, *, phone_fallback: str
) -> RequestOut:
    """`shape` plus the live queue position, and the fallback number once expired."""
    position = estimate = None
    if record["status"] == RequestStatus.WAITING:
        position, estimate = await waiting_position(store, record["id"])
    fallback = phone_fallback if record["status"] == RequestStatus.EXPIRED else None
    return shape(record, viewer, position=position, estimate_s=estimate, phone_fallback=fallback)


async def load_many(store: Store, request_ids: list[str]) -> list[RequestRecord]:
    """Several request hashes in one round trip, skipping any that vanished."""
    return await store.requests.load_many(request_ids)
