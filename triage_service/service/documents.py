"""Printable documents: the clinical handover to the receiving team, and the s298 notice to
the Mental Welfare Commission with the end of the detention and the examination's result.
Each gathers what its template shows for an entitled reader, every time in the board's local
time with its zone named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from triage_service.domain.answers import PlaceOfSafetyOut, PlaceRef, ReferralOut
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import Role
from triage_service.domain.errors import Invalid, NotFound
from triage_service.domain.models import OutcomeForm, PlaceOfSafety, PlaceOfSafetyUpdate
from triage_service.domain.routing import covers_board
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.referrals import area_ref, shape_referral
from triage_service.store import Refused, Request, Store, record_of
from triage_service.store.changes import UpdatePlaceOfSafety

ENDED_AHEAD = timedelta(minutes=5)  # a detention may be recorded as ending a moment from now


@dataclass(frozen=True, slots=True)
class Handover:
    """The handover of one assessment to the team its referral went to."""

    record: Request
    form: dict[str, Any]
    outcome: OutcomeForm
    referral: ReferralOut
    area: PlaceRef | None
    clinician_phone: str | None


@dataclass(frozen=True, slots=True)
class S298Notice:
    """The notice of an s297 removal to a place of safety (s298)."""

    record: Request
    form: dict[str, Any]
    outcome: OutcomeForm
    removal: PlaceOfSafety  # the outcome's s297 removal
    notice: ReferralOut
    detention: PlaceOfSafetyOut


async def handover(
    store: Store, reader: User, request_id: str, *, now_ms: int, directory: AreaDirectory
) -> Handover:
    """The handover for the request's assigned clinician or a member of the receiving team;
    anyone else (or a request without a referral) is not found."""
    record = await store.requests.load(request_id)
    if record is None or record.outcome is None or record.referral_id is None:
        raise NotFound()
    row = await store.referrals.load(record.referral_id)
    if not row or not may_read_handover(reader, record, row.get("team")):
        raise NotFound()
    return Handover(
        record,
        record.form,
        OutcomeForm(**record.outcome),
        shape_referral(row, now_ms),
        area_ref(directory, record.area_id, record.area),
        await filing_clinician_phone(store, record),
    )


async def filing_clinician_phone(store: Store, record: Request) -> str | None:
    """The call-back number of the clinician who filed the outcome (as it was at accept, else
    their account's now)."""
    if record.clinician_phone:
        return record.clinician_phone
    account = await store.accounts.load(record.clinician_id or "")
    return account.get("phone") or None


def may_read_handover(reader: User, record: Request, team: str | None) -> bool:
    """The assigned clinician, and receivers of the referral's team."""
    if reader.role is Role.CLINICIAN:
        return record.clinician_id == reader.id
    return reader.role is Role.RECEIVER and bool(team) and reader.team == team


def may_manage_notice(reader: User, record: Request) -> bool:
    """The s298 notice is for the clinician who filed the removal and the supervisors of the
    request's board (a supervisor of every board: any)."""
    if reader.role is Role.CLINICIAN:
        return record.clinician_id == reader.id
    return reader.role is Role.SUPERVISOR and covers_board(reader.boards, record.board)


async def s298_notice(store: Store, reader: User, referral_id: str, *, now_ms: int) -> S298Notice:
    """The s298 notice of an s298 notification: for the clinician who filed the removal and
    for the supervisors of its board; any other id or reader is not found."""
    row = await store.referrals.load(referral_id)
    if not row or row.get("kind") != "mwc_notification":
        raise NotFound("notification")
    record = await store.requests.load(row["request_id"])
    if record is None or record.outcome is None or not may_manage_notice(reader, record):
        raise NotFound("notification")
    outcome = OutcomeForm(**record.outcome)
    if outcome.place_of_safety is None:
        raise NotFound("notification")
    return S298Notice(
        record,
        record.form,
        outcome,
        outcome.place_of_safety,
        shape_referral(row, now_ms),
        detention_of(record),
    )


def detention_of(record: Request) -> PlaceOfSafetyOut:
    """The end of the place-of-safety detention and its result, as recorded so far."""
    return PlaceOfSafetyOut.model_validate(
        {
            "request_id": record.id,
            "ended_at": to_datetime(record.pos_ended_ms),
            "result": record.pos_result,
            "note": record.pos_note,
            "updated_at": to_datetime(record.pos_updated_ms),
        }
    )


async def update_place_of_safety(
    store: Store, reader: User, request_id: str, change: PlaceOfSafetyUpdate, *, now_ms: int
) -> PlaceOfSafetyOut:
    """Record the end of the detention and the examination's result for the s298 notice (the
    filing clinician, a supervisor of the board); 404 for anyone else or a request without
    an s297 removal; the end may not come before the removal nor after now."""
    record = await store.requests.load(request_id)
    if record is None or record.notice_id is None or not may_manage_notice(reader, record):
        raise NotFound()
    removal = OutcomeForm(**(record.outcome or {})).place_of_safety
    if removal is None:  # a notice comes only with an s297 removal
        raise NotFound()
    now = to_datetime(now_ms)
    ended = change.ended_at
    if ended is not None and not removal.removed_at <= ended <= now + ENDED_AHEAD:
        raise Invalid(
            "ended_at_out_of_range",
            "The detention ends after the removal and no later than now.",
            {"ended_at": "between the removal and now"},
        )
    fields: dict[str, Any] = {"actor": reader.id, "role": reader.role.value}
    if ended is not None:
        fields["ended_ms"] = int(ended.timestamp() * 1000)
    fields.update(change.model_dump(include={"result", "note"}, exclude_none=True))
    try:
        call = UpdatePlaceOfSafety(request_id=request_id, change=fields)
        result = await store.change(call, now_ms=now_ms)
    except Refused as e:
        raise NotFound() from e
    changed = record_of(result)
    if changed is None:  # purged meanwhile
        raise NotFound()
    return detention_of(changed)


def local_zone(directory: AreaDirectory, record: Request) -> ZoneInfo:
    """The time zone of the request's board (the receiving team's clock)."""
    return directory.board_of(record.board).zone


def printed_time(when: datetime | str | int | None, zone: ZoneInfo) -> str:
    """A time as `YYYY-MM-DD HH:MM ZONE` in the board's local time, the zone named by its
    abbreviation (GMT, BST, ...) so that nobody reads UTC as local ("" if none)."""
    moment = when if isinstance(when, datetime) else to_datetime(when)
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
