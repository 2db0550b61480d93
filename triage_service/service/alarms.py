"""Alarms: conditions noticed by the sweeper (or a lifecycle step) become records raised once
across every instance, which supervisors acknowledge and critical ones escalate."""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal

from triage_service.domain.answers import AlarmOut, PersonRef
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.safety import AlarmKind, AlarmLevel, alarm_level
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.presence import staffing
from triage_service.settings import Settings
from triage_service.store import Refused, Store
from triage_service.store.alarms import Row

PRIORITY_SCALE = 10**13  # queue score = priority * 10**13 + created_ms (rules.queue_score)
SCAN_LIMIT = 500  # waiting requests and referrals looked at per sweep
S298_WARNING_MS = 2 * 24 * 3_600_000
Waiting = tuple[str, int, int]  # request id, priority, created ms


async def check_alarms(store: Store, settings: Settings, *, now_ms: int) -> int:
    """Raise every alarm whose condition holds now and has not been raised; how many were."""
    waiting = await _waiting(store)
    raised = 0
    # A clinician within their grace period (say between the console and the session page)
    # is coming back: alarming then would cry wolf. The officer is told at once regardless.
    staff = await staffing(store, now_ms=now_ms) if waiting else None
    if staff and staff.on_duty + staff.returning == 0:
        raised += await _raise_for_requests(
            store, settings, AlarmKind.NO_CLINICIAN_ON_DUTY, waiting, now_ms=now_ms
        )
    thresholds = settings.escalation_thresholds
    late = [w for w in waiting if w[1] in thresholds and now_ms - w[2] >= thresholds[w[1]] * 1000]
    raised += await _raise_for_requests(store, settings, AlarmKind.LONG_WAIT, late, now_ms=now_ms)
    return raised + await _check_referrals(store, settings, now_ms=now_ms)


async def request_expired(
    store: Store, settings: Settings, request_id: str, *, now_ms: int
) -> bool:
    """A request expired unanswered: its alarm (critical for priority 1)."""
    (found,) = await store.requests.fields_of([request_id], ("priority", "created_ms"))
    if found["priority"] is None:
        return False
    waiting = [(request_id, int(found["priority"]), int(found["created_ms"] or now_ms))]
    return bool(
        await _raise_for_requests(store, settings, AlarmKind.EXPIRED, waiting, now_ms=now_ms)
    )


async def referral_declined(
    store: Store, settings: Settings, referral_id: str, *, now_ms: int
) -> bool:
    """The receiving team declined a referral: the triage team must find another way (a
    warning; critical when the referral was urgent, A or B)."""
    row = await store.referrals.load(referral_id)
    if not row:
        return False
    urgent = row.get("urgency") in ("A", "B")
    team = str(row.get("team") or row.get("service") or "receiving team").replace("_", " ")
    return bool(
        await _raise(
            store,
            settings,
            AlarmKind.REFERRAL_DECLINED,
            AlarmLevel.CRITICAL if urgent else AlarmLevel.WARNING,
            f"The {team} team declined a referral (urgency {row.get('urgency')}).",
            now_ms=now_ms,
            request_id=row.get("request_id", ""),
            referral_id=referral_id,
        )
    )


async def _waiting(store: Store) -> list[Waiting]:
    rows = await store.requests.waiting_scored(SCAN_LIMIT)
    return [(rid, int(score // PRIORITY_SCALE), int(score % PRIORITY_SCALE)) for rid, score in rows]


def _request_message(kind: AlarmKind, priority: int, waited_s: float) -> str:
    waited = f"{int(waited_s // 60)} min" if waited_s >= 60 else "under a minute"
    if kind is AlarmKind.NO_CLINICIAN_ON_DUTY:
        return f"A priority {priority} request is waiting and no clinician is on duty."
    if kind is AlarmKind.EXPIRED:
        return f"A priority {priority} request expired unanswered after {waited}."
    return f"A priority {priority} request has waited {waited} without an answer."


async def _raise_for_requests(
    store: Store, settings: Settings, kind: AlarmKind, waiting: list[Waiting], *, now_ms: int
) -> int:
    alarms = store.alarms
    fresh = set(await alarms.unclaimed(kind.value, [rid for rid, _, _ in waiting]))
    raised = 0
    for request_id, priority, created_ms in waiting:
        if request_id not in fresh:
            continue
        level = alarm_level(kind, priority=priority)
        message = _request_message(kind, priority, (now_ms - created_ms) / 1000)
        raised += await _raise(
            store, settings, kind, level, message, now_ms=now_ms, request_id=request_id
        )
    return raised


async def _check_referrals(store: Store, settings: Settings, *, now_ms: int) -> int:
    overdue, notices = await store.referrals.overdue_and_notices(
        now_ms=now_ms, notices_until_ms=now_ms + S298_WARNING_MS, limit=SCAN_LIMIT
    )
    due = dict(notices)
    raised = 0
    alarms = store.alarms
    for referral_id in await alarms.unclaimed(AlarmKind.S298_DUE.value, list(due)):
        late = due[referral_id] < now_ms
        message = "An s298 notification to the Mental Welfare Commission is " + (
            "overdue." if late else "due within 2 days."
        )
        level = alarm_level(AlarmKind.S298_DUE, overdue=late)
        raised += await _raise(
            store,
            settings,
            AlarmKind.S298_DUE,
            level,
            message,
            now_ms=now_ms,
            referral_id=referral_id,
        )
    referrals = [r for r in overdue if r not in due]
    for referral_id in await alarms.unclaimed(AlarmKind.REFERRAL_OVERDUE.value, referrals):
        service = (await store.referrals.load(referral_id)).get("service")
        raised += await _raise(
            store,
            settings,
            AlarmKind.REFERRAL_OVERDUE,
            AlarmLevel.WARNING,
            f"A {str(service or 'follow-up').replace('_', ' ')} referral is overdue.",
            now_ms=now_ms,
            referral_id=referral_id,
        )
    return raised


async def _raise(
    store: Store,
    settings: Settings,
    kind: AlarmKind,
    level: AlarmLevel,
    message: str,
    *,
    now_ms: int,
    request_id: str = "",
    referral_id: str = "",
) -> int:
    fields: dict[str, str | int] = {
        "id": secrets.token_hex(8),
        "kind": kind.value,
        "level": level.value,
        "request_id": request_id,
        "referral_id": referral_id,
        "message": message,
        "raised_ms": now_ms,
    }
    subject = referral_id if kind is AlarmKind.REFERRAL_DECLINED else request_id or referral_id
    raised = await store.alarms.raise_once(
        kind.value, subject, fields, deliver=channels(settings, level), now_ms=now_ms
    )
    return int(raised)


def channels(settings: Settings, level: AlarmLevel) -> list[str]:
    """Where an alarm of `level` is escalated: critical ones to the webhook and e-mail."""
    if level is not AlarmLevel.CRITICAL:
        return []
    return [
        name
        for name, configured in (
            ("webhook", settings.alert_webhook_url),
            ("email", settings.smtp_url),
        )
        if configured
    ]


def shape_alarm(row: Row) -> AlarmOut:
    """The stored alarm as the API shows it."""
    raised = to_datetime(row["raised_ms"])
    assert raised is not None
    by = (
        PersonRef(id=row["acknowledged_by_id"], display_name=row.get("acknowledged_by_name", ""))
        if row.get("acknowledged_by_id")
        else None
    )
    return AlarmOut(
        id=row["id"],
        kind=AlarmKind(row["kind"]),
        level=AlarmLevel(row["level"]),
        request_id=row.get("request_id") or None,
        referral_id=row.get("referral_id") or None,
        message=row["message"],
        raised_at=raised,
        acknowledged_at=to_datetime(row.get("acknowledged_ms")),
        acknowledged_by=by,
        note=row.get("note") or None,
    )


async def get_alarm(store: Store, alarm_id: str) -> AlarmOut | None:
    """One alarm, or None."""
    row = await store.alarms.get(alarm_id)
    return shape_alarm(row) if row else None


async def list_alarms(store: Store, status: Literal["open", "all"]) -> list[AlarmOut]:
    """Open (or all) alarms, newest first."""
    return [shape_alarm(row) for row in await store.alarms.newest(status)]


async def acknowledge(
    store: Store, supervisor: User, alarm_id: str, note: str | None, *, now_ms: int
) -> AlarmOut:
    """A supervisor acknowledges an open alarm, once; its escalation stops."""
    try:
        row = await store.alarms.acknowledge(
            alarm_id,
            user_id=supervisor.id,
            user_name=supervisor.display_name,
            note=note or "",
            now_ms=now_ms,
        )
    except Refused as e:
        if e.code == "not_found":
            raise NotFound("alarm") from e
        raise Conflict("already_acknowledged", "This alarm was already acknowledged.") from e
    return shape_alarm(row)


async def escalation_body(store: Store, alarm_id: str, *, now_ms: int) -> bytes | None:
    """The webhook body: the alarm and the request's codes only (no names, no free text)."""
    alarm = await get_alarm(store, alarm_id)
    if alarm is None:
        return None
    request: dict[str, Any] | None = None
    if alarm.request_id:
        (row,) = await store.requests.fields_of(
            [alarm.request_id], ("priority", "area", "created_ms", "accepted_ms", "completed_ms")
        )
        if row["priority"] is not None:
            until = int(row["accepted_ms"] or row["completed_ms"] or now_ms)
            request = {
                "id": alarm.request_id,
                "priority": int(row["priority"]),
                "area": row["area"] or None,
                "waited_s": round(max(0, until - int(row["created_ms"] or until)) / 1000, 1),
            }
    body = {"alarm": alarm.model_dump(mode="json"), "request": request}
    return json.dumps(body, separators=(",", ":")).encode()
