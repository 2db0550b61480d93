"""Putting a board's month together: its records' figures and the 12-month trend."""

from __future__ import annotations

from datetime import UTC, datetime

from triage_service.domain.areas import Board
from triage_service.report import figures as f
from triage_service.report.models import MonthlyReport, TrendPoint
from triage_service.report.month import Month
from triage_service.report.records import ReportRecord, month_records
from triage_service.settings import Settings
from triage_service.stats.figures import Scope, window_stats
from triage_service.stats.window import Detail, Window
from triage_service.store.store import Store


async def monthly_report(
    store: Store, settings: Settings, board: Board, month: Month, *, now_ms: int
) -> MonthlyReport:
    """The report of `board` for its local calendar `month`, as of `now_ms`."""
    start, end = month.span_ms(board.zone)
    records = await month_records(store, Window(start, end), board.id)
    trend = await earlier_months(store, settings, board, month, now_ms=now_ms)
    within = f.within(records, settings.service_level_s)
    this = TrendPoint(
        month=str(month),
        requests=len(records),
        service_level_pct=f.pct(within, len(f.answered(records))),
    )
    return shape(records, board, month, settings, [*trend, this], now_ms=now_ms)


async def earlier_months(
    store: Store, settings: Settings, board: Board, month: Month, *, now_ms: int
) -> list[TrendPoint]:
    """Requests and service level of the 11 months before `month`, from the board's
    statistics counters (the same figures GET /stats gives for each month's span)."""
    points = []
    for earlier in month.trend()[:-1]:
        start, end = earlier.span_ms(board.zone)
        scope = Scope(board.id, board.zone)
        found = await window_stats(
            store, settings, Window(start, end), Detail(), scope, now_ms=now_ms
        )
        points.append(
            TrendPoint(
                month=str(earlier),
                requests=found.requests,
                service_level_pct=found.service_level.pct,
            )
        )
    return points


def shape(
    records: list[ReportRecord],
    board: Board,
    month: Month,
    settings: Settings,
    trend: list[TrendPoint],
    *,
    now_ms: int,
) -> MonthlyReport:
    """Every figure of the month, from its records."""
    start, end = month.span_ms(board.zone)
    done = f.completed(records)
    answered = f.answered(records)
    return MonthlyReport(
        board=board.id,
        board_name=board.name,
        month=str(month),
        timezone=board.timezone,
        start=_dt(start),
        end=_dt(end),
        generated_at=_dt(now_ms),
        requests=len(records),
        answered=len(answered),
        service_level_threshold_s=settings.service_level_s,
        service_level_pct=trend[-1].service_level_pct,
        wait_s=f.waits(answered),
        assessment_s=f.assessments(done),
        police_time_h=f.police_time(done),
        officer_hours_saved=f.hours_saved(records, board),
        detentions=f.detentions(done, board),
        ed=f.emergency_department(done),
        referrals=f.referrals(records),
        mwc=f.mwc(records, now_ms),
        usefulness=f.usefulness(records),
        equity=f.equity(records, board),
        repeat=f.repeat(records) if settings.linking else None,
        trend=trend,
        cost_avoided=f.cost_avoided(records, board),
    )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
