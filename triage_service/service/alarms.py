"""Alarms: conditions noticed by the sweeper (or a lifecycle step) become records raised once
across every instance, which supervisors acknowledge and critical ones escalate."""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import AlarmOut, PersonRef, PlaceRef, ReferralOut
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.routing import covers_board
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
    waiting, by_board = await _waiting(store)
    raised = 0
    for board, requests in by_board.items():
        # A clinician within their grace period (say between the console and the session
        # page) is coming back: alarming then would cry wolf. The officer is told regardless.
        staff = await staffing(store, now_ms=now_ms, board=board)
        if staff.on_duty + staff.returning == 0:
            raised += await _raise_for_requests(
                store, settings, AlarmKind.NO_CLINICIAN_ON_DUTY, requests, now_ms=now_ms
            )
    thresholds = settings.escalation_thresholds
    late = [w for w in waiting if w[1] in thresholds and now_ms - w[2] >= thresholds[w[1]] * 1000]
    raised += await _raise_for_requests(store, settings, AlarmKind.LONG_WAIT, late, now_ms=now_ms)
    return raised + await _check_referrals(store, settings, now_ms=now_ms)


async def request_expired(
    store: Store, settings: Settings, request_id: str, *, now_ms: int
) -> bool:
    """A request expired unanswered: its alarm (critical for priority 1)."""
    record = await store.requests.load(request_id)
    if record is None:
        return False
    waiting = [(request_id, record.priority, record.created_ms)]
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


async def referral_unstaffed(
    store: Store, settings: Settings, referral: ReferralOut, message: str, *, now_ms: int
) -> bool:
    """A referral went to a team with no enabled receiver: nobody will see it in the inbox
    (a warning; critical when it is urgent, A or B)."""
    urgent = referral.urgency in ("A", "B")
    return bool(
        await _raise(
            store,
            settings,
            AlarmKind.REFERRAL_UNSTAFFED,
            AlarmLevel.CRITICAL if urgent else AlarmLevel.WARNING,
            message,
            now_ms=now_ms,
            request_id=referral.request_id,
            referral_id=referral.id,
        )
    )


async def _waiting(store: Store) -> tuple[list[Waiting], dict[str, list[Waiting]]]:
    """The first `SCAN_LIMIT` waiting requests, and the same by health board ("" for those
    of no board: every clinician covers them), so each board's staffing is read once; one
    round trip, not one command per request (this runs every sweep)."""
    waiting: list[Waiting] = []
    by_board: dict[str, list[Waiting]] = {}
    for rid, score, board in await store.requests.waiting_boards(SCAN_LIMIT):
        entry = (rid, int(score // PRIORITY_SCALE), int(score % PRIORITY_SCALE))
        waiting.append(entry)
        by_board.setdefault(board, []).append(entry)
    return waiting, by_board


def _request_message(kind: AlarmKind, priority: int, waited_s: float) -> str:
    waited = f"{int(waited_s // 60)} min" if waited_s >= 60 else "under a minute"
    if kind is AlarmKind.NO_CLINICIAN_ON_DUTY:
        return (
            f"A priority {priority} request is waiting and no clinician is on duty for its"
            " board; it is offered to every clinician."
        )
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
    by_referral = kind in (AlarmKind.REFERRAL_DECLINED, AlarmKind.REFERRAL_UNSTAFFED)
    subject = referral_id if by_referral else request_id or referral_id
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


def shape_alarm(row: Row, areas: AreaDirectory | None = None) -> AlarmOut:
    """The stored alarm as the API shows it, with its area and board named from `areas`."""
    raised = to_datetime(int(row["raised_ms"]))
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
        area=area_ref(areas, row.get("area_id"), row.get("area")),
        board=board_ref(areas, row.get("board")),
        resolved_at=to_datetime(row.get("resolved_ms")),
        resolved_reason=row.get("resolved_reason") or None,
    )


def area_ref(
    areas: AreaDirectory | None, area_id: str | None, typed: str | None
) -> PlaceRef | None:
    """The area as `{id, name}`: from the directory, else the place the officer typed (no
    id), else none."""
    found = areas.area(area_id) if areas and area_id else None
    if found:
        return PlaceRef(id=found.id, name=found.name)
    if area_id or typed:
        return PlaceRef(id=area_id or None, name=typed or area_id or "")
    return None


def board_ref(areas: AreaDirectory | None, board_id: str | None) -> PlaceRef | None:
    """The health board as `{id, name}` (its id for a name when not in the directory)."""
    if not board_id:
        return None
    found = areas.board(board_id) if areas else None
    return PlaceRef(id=board_id, name=found.name if found else board_id)


def sees_alarm(user: User, alarm: AlarmOut) -> bool:
    """Board scope: a supervisor limited to boards sees the alarms of their boards' requests."""
    return covers_board(user.boards, alarm.board.id if alarm.board else None)


async def get_alarm(
    store: Store, alarm_id: str, areas: AreaDirectory | None = None
) -> AlarmOut | None:
    """One alarm, or None."""
    row = await store.alarms.get(alarm_id)
    return shape_alarm(row, areas) if row else None


async def list_alarms(
    store: Store,
    status: Literal["open", "all"],
    *,
    reader: User | None = None,
    areas: AreaDirectory | None = None,
) -> list[AlarmOut]:
    """Open (neither acknowledged nor resolved) or all alarms, newest first: of the boards
    `reader` covers, when given."""
    boards = reader.boards if reader else ()
    rows = await store.alarms.newest(status, of=lambda row: covers_board(boards, row.get("board")))
    return [shape_alarm(row, areas) for row in rows]


async def acknowledge(
    store: Store,
    supervisor: User,
    alarm_id: str,
    note: str | None,
    *,
    now_ms: int,
    areas: AreaDirectory | None = None,
    idempotency: Idempotency | None = None,
) -> AlarmOut:
    """A supervisor acknowledges an open alarm of a board they cover, once; its escalation
    stops. Another board's alarm is not found. A repeat of the same key (a retry after a
    lost answer) answers that acknowledgement again, not 409."""
    found = await get_alarm(store, alarm_id, areas)
    if found is None or not sees_alarm(supervisor, found):
        raise NotFound("alarm")
    try:
        row = await store.alarms.acknowledge(
            alarm_id,
            user_id=supervisor.id,
            user_name=supervisor.display_name,
            note=note or "",
            now_ms=now_ms,
            idempotency=idempotency,
        )
    except Refused as e:
        if e.code == "not_found":
            raise NotFound("alarm") from e
        if e.code == "idempotency_key_reused":
            raise idem.reused() from e
        raise Conflict("already_acknowledged", "This alarm was already acknowledged.") from e
    return shape_alarm(row, areas)


async def escalation_body(
    store: Store, alarm_id: str, *, now_ms: int, areas: AreaDirectory | None = None
) -> bytes | None:
    """The webhook body: the alarm and the request's codes, area and board only (no names,
    no free text but the area the officer typed when it is not in the directory)."""
    alarm = await get_alarm(store, alarm_id, areas)
    if alarm is None:
        return None
    request: dict[str, Any] | None = None
    record = await store.requests.load(alarm.request_id) if alarm.request_id else None
    if record is not None:
        until = record.accepted_ms or record.completed_ms or now_ms
        area = area_ref(areas, record.area_id, record.area)
        board = board_ref(areas, record.board)
        request = {
            "id": alarm.request_id,
            "priority": record.priority,
            "area": area.model_dump() if area else None,
            "board": board.model_dump() if board else None,
            "waited_s": round(max(0, until - record.created_ms) / 1000, 1),
        }
    body = {"alarm": alarm.model_dump(mode="json"), "request": request}
    return json.dumps(body, separators=(",", ":")).encode()
