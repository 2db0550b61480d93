"""The live part of the statistics: the queue, clinicians, open referrals and alarms.

Everything here is read from small live structures (the queue, the clinicians' states, the
open referrals), so its cost depends on who is waiting now, not on the store's size.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from triage_service.domain.times import to_datetime
from triage_service.settings import Settings
from triage_service.stats.board import live_of_board
from triage_service.stats.figures import Scope, window_stats
from triage_service.stats.models import Alarm, Clinicians, QueueNow, ReferralsNow, Stats
from triage_service.stats.window import DAY_MS, Detail, Window
from triage_service.store.stats import LiveRows, QueueSlice
from triage_service.store.store import Store

PRIORITIES = (1, 2, 3)
PRIORITY_SCALE = 10**13  # queue score = priority * 10**13 + created_ms (domain.queue_score)
ALARM_LIMIT = 20
S298_WARNING_MS = 2 * DAY_MS


@dataclass(frozen=True, slots=True)
class PriorityRows:
    """One priority's slice of the queue."""

    priority: int
    waiting: int
    oldest_ms: int | None
    escalated: int
    escalated_rows: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class LiveRead:
    """The live structures as read (of the whole service or of one board), with the queue's
    slices as priorities."""

    rows: LiveRows
    priorities: list[PriorityRows]


async def compute_stats(
    store: Store,
    settings: Settings,
    window: Window,
    *,
    now_ms: int,
    detail: Detail | None = None,
    scope: Scope | None = None,
) -> Stats:
    """The whole `Stats` answer: the live figures now and the window's figures (of one
    board, with `scope`: its queue, clinicians and referrals too)."""
    figures, live = await asyncio.gather(
        window_stats(store, settings, window, detail or Detail(), scope, now_ms=now_ms),
        read_live(store, settings, now_ms=now_ms, board=scope.board if scope else None),
    )
    generated = to_datetime(now_ms)
    queue, clinicians = queue_now(live, now_ms), clinicians_now(live)
    return Stats(
        generated_at=generated,
        queue=queue,
        clinicians=clinicians,
        window=figures,
        feedback=figures.feedback,
        repeat=figures.repeat,
        referrals=referrals_now(live),
        alarms=alarms(live, settings, queue=queue, clinicians=clinicians, now_ms=now_ms),
    )


async def read_live(
    store: Store, settings: Settings, *, now_ms: int, board: str | None = None
) -> LiveRead:
    """Queue slices per priority, sessions, clinicians and open referrals in one pipeline
    (of one health board's requests, clinicians and referrals, with `board`)."""
    thresholds = settings.escalation_thresholds
    ranges = []
    for p in PRIORITIES:
        low, high = p * PRIORITY_SCALE, f"({(p + 1) * PRIORITY_SCALE}"
        ranges.append((low, high, low + now_ms - thresholds.get(p, 10**9) * 1000))
    limits = {"limit": ALARM_LIMIT, "now_ms": now_ms, "mwc_until_ms": now_ms + S298_WARNING_MS}
    if board:
        rows = live_of_board(await store.stats.live_members(), board, ranges, **limits)
    else:
        rows = await store.stats.live(ranges, **limits)
    priorities = [_priority_rows(p, s) for p, s in zip(PRIORITIES, rows.slices, strict=True)]
    return LiveRead(rows, priorities)


def _priority_rows(priority: int, rows: QueueSlice) -> PriorityRows:
    base = priority * PRIORITY_SCALE
    return PriorityRows(
        priority,
        rows.waiting,
        int(rows.first[0][1] - base) if rows.first else None,
        rows.late,
        [(rid, score - base) for rid, score in rows.late_rows],
    )


def queue_now(live: LiveRead, now_ms: int) -> QueueNow:
    """Waiting now by priority, the longest waits, and requests in session."""
    longest = {str(s.priority): _waited_s(s.oldest_ms, now_ms) for s in live.priorities}
    known = [w for w in longest.values() if w is not None]
    return QueueNow(
        waiting=sum(s.waiting for s in live.priorities),
        by_priority={str(s.priority): s.waiting for s in live.priorities},
        longest_wait_s=max(known, default=0.0),
        in_session=live.rows.in_session,
        longest_wait_by_priority_s=longest,
        escalated=sum(s.escalated for s in live.priorities),
    )


def clinicians_now(live: LiveRead) -> Clinicians:
    """Clinicians by their current availability."""
    return Clinicians(
        available=live.rows.states.count("available"),
        busy=live.rows.states.count("busy"),
        offline=live.rows.states.count("offline"),
    )


def referrals_now(live: LiveRead) -> ReferralsNow:
    """Open and overdue referrals (with s298 notifications), and the notifications apart."""
    return ReferralsNow(
        open=live.rows.referrals_open,
        overdue=live.rows.referrals_overdue,
        mwc_open=live.rows.mwc_open,
        mwc_overdue=live.rows.mwc_overdue,
        mwc_due_soon=len(live.rows.mwc_due_soon),
    )


def alarms(
    live: LiveRead, settings: Settings, *, queue: QueueNow, clinicians: Clinicians, now_ms: int
) -> list[Alarm]:
    """Requests waiting past their threshold, nobody available, s298 notices nearly due."""
    found: list[Alarm] = []
    if queue.waiting and not clinicians.available:
        found.append(
            Alarm(
                kind="no_clinician_available",
                message=f"{queue.waiting} waiting and no clinician is available.",
            )
        )
    for s in live.priorities:
        threshold = settings.escalation_thresholds.get(s.priority)
        for request_id, created_ms in s.escalated_rows:
            waited = _waited_s(int(created_ms), now_ms)
            found.append(
                Alarm(
                    kind="waiting_past_threshold",
                    request_id=request_id,
                    priority=s.priority,
                    waited_s=waited,
                    threshold_s=threshold,
                    message=f"A priority {s.priority} request has waited {_minutes(waited)}.",
                )
            )
    for referral_id, due_ms in live.rows.mwc_due_soon:
        due = to_datetime(int(due_ms))
        overdue = due_ms < now_ms
        found.append(
            Alarm(
                kind="s298_due_soon",
                referral_id=referral_id,
                due_at=due,
                message=(
                    "An s298 notification to the Mental Welfare Commission is "
                    + ("overdue." if overdue else "due within 2 days.")
                ),
            )
        )
    return found


def _waited_s(created_ms: int | None, now_ms: int) -> float | None:
    return None if created_ms is None else round(max(0, now_ms - created_ms) / 1000, 1)


def _minutes(seconds: float | None) -> str:
    minutes = int((seconds or 0) // 60)
    return "under a minute" if minutes < 1 else f"{minutes} min"
