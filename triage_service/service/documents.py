"""Printable documents: the clinical handover to the receiving team, and the s298 notice to
the Mental Welfare Commission. Each gathers what its template shows for an entitled reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from triage_service.domain.answers import ReferralOut
from triage_service.domain.codes import Role
from triage_service.domain.errors import NotFound
from triage_service.domain.models import OutcomeForm
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.referrals import shape_referral
from triage_service.store import RequestRecord, Store


@dataclass(frozen=True, slots=True)
class Handover:
    """The handover of one assessment to the team its referral went to."""

    record: RequestRecord
    form: dict[str, Any]
    outcome: OutcomeForm
    referral: ReferralOut


@dataclass(frozen=True, slots=True)
class S298Notice:
    """The notice of an s297 removal to a place of safety (s298)."""

    record: RequestRecord
    form: dict[str, Any]
    outcome: OutcomeForm
    notice: ReferralOut


async def handover(store: Store, reader: User, request_id: str, *, now_ms: int) -> Handover:
    """The handover for the request's assigned clinician or a member of the receiving team;
    anyone else (or a request without a referral) is not found."""
    record = await store.requests.load(request_id)
    if record is None or not record.get("outcome") or not record.get("referral_id"):
        raise NotFound()
    row = await store.referrals.load(record["referral_id"])
    if not row or not may_read_handover(reader, record, row.get("team")):
        raise NotFound()
    return Handover(
        record,
        json.loads(record["form"]),
        OutcomeForm(**json.loads(record["outcome"])),
        shape_referral(row, now_ms),
    )


def may_read_handover(reader: User, record: RequestRecord, team: str | None) -> bool:
    """The assigned clinician, and receivers of the referral's team."""
    if reader.role is Role.CLINICIAN:
        return record.get("clinician_id") == reader.id
    return reader.role is Role.RECEIVER and bool(team) and reader.team == team


async def s298_notice(store: Store, reader: User, referral_id: str, *, now_ms: int) -> S298Notice:
    """The s298 notice of an s298 notification: for the clinician who filed the removal and
    for supervisors; any other id or reader is not found."""
    row = await store.referrals.load(referral_id)
    if not row or row.get("kind") != "mwc_notification":
        raise NotFound("notification")
    record = await store.requests.load(row["request_id"])
    if record is None or not record.get("outcome"):
        raise NotFound("notification")
    if reader.role is Role.CLINICIAN and record.get("clinician_id") != reader.id:
        raise NotFound("notification")
    outcome = OutcomeForm(**json.loads(record["outcome"]))
    if outcome.place_of_safety is None:
        raise NotFound("notification")
    return S298Notice(record, json.loads(record["form"]), outcome, shape_referral(row, now_ms))


def printed_time(ms: str | int | None) -> str:
    """A stored time as `YYYY-MM-DD HH:MM UTC` for a printed page ("" if none)."""
    when = to_datetime(ms)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""
