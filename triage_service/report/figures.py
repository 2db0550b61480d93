"""The report's figures from the month's records: plain counting, no I/O (DOMAIN.md "The
board report" gives each definition; docs/report.md says how each is counted).

Percentiles are nearest-rank over whole seconds rounded half up, as the statistics count
them, so a month's median wait here equals GET /stats's for the same span."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from triage_service.domain.areas import Board
from triage_service.domain.codes import AgeBand, Counterfactual, Disposition, Sex
from triage_service.report.models import (
    AssessmentFigures,
    CostAvoided,
    Detentions,
    EdFigures,
    Equity,
    HoursSaved,
    MwcFigures,
    PoliceTime,
    ReferralFigures,
    Usefulness,
    WaitFigures,
)
from triage_service.report.records import FollowUp, ReportRecord
from triage_service.stats.models import Repeat

HOUR_MS = 3_600_000
S297 = Disposition.PLACE_OF_SAFETY_S297.value
EXAMINATION = Disposition.MEDICAL_EXAMINATION_DETENTION.value
ED = Disposition.EMERGENCY_DEPARTMENT.value
AVOIDABLE = {Counterfactual.S297_REMOVAL.value: S297, Counterfactual.ED_CONVEYANCE.value: ED}


def seconds(ms: int) -> int:
    """Whole seconds, rounded half up."""
    return (ms + 500) // 1000


def nearest_rank(values: Sequence[int], p: int) -> float | None:
    """The smallest value with at least ceil(p% of n) of the values at or below it."""
    if not values:
        return None
    return float(sorted(values)[math.ceil(p * len(values) / 100) - 1])


def pct(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, one decimal; None when `whole` is 0."""
    return round(100 * part / whole, 1) if whole else None


def answered(records: Iterable[ReportRecord]) -> list[ReportRecord]:
    """The requests a clinician accepted."""
    return [r for r in records if r.first_wait_ms is not None]


def completed(records: Iterable[ReportRecord]) -> list[ReportRecord]:
    """The requests with an outcome filed."""
    return [r for r in records if r.completed_ms is not None]


def within(records: Iterable[ReportRecord], threshold_s: int) -> int:
    """Answered within the service-level threshold (whole seconds)."""
    return sum(
        seconds(r.first_wait_ms) <= threshold_s for r in records if r.first_wait_ms is not None
    )


def waits(records: Sequence[ReportRecord]) -> WaitFigures:
    """Median and 90th percentile of the time to answer."""
    found = [seconds(r.first_wait_ms) for r in records if r.first_wait_ms is not None]
    return WaitFigures(p50=nearest_rank(found, 50), p90=nearest_rank(found, 90))


def assessments(records: Sequence[ReportRecord]) -> AssessmentFigures:
    """Median assessment length: accepted (the last time) to outcome filed."""
    found = [
        seconds(r.completed_ms - r.accepted_ms)
        for r in records
        if r.completed_ms is not None and r.accepted_ms is not None
    ]
    return AssessmentFigures(p50=nearest_rank(found, 50))


def police_ms(record: ReportRecord) -> int | None:
    """Request created to officer released, once the outcome is filed."""
    return None if record.released_ms is None else record.released_ms - record.created_ms


def police_time(records: Sequence[ReportRecord]) -> PoliceTime:
    """Police time per incident: mean, median and total, in hours."""
    found = [ms for ms in map(police_ms, records) if ms is not None]
    if not found:
        return PoliceTime(n=0, mean=None, median=None, total=0.0)
    median = nearest_rank([seconds(ms) for ms in found], 50)
    return PoliceTime(
        n=len(found),
        mean=round(sum(found) / len(found) / HOUR_MS, 2),
        median=round(median / 3600, 2) if median is not None else None,
        total=round(sum(found) / HOUR_MS, 2),
    )


def avoided(record: ReportRecord, counterfactual: str) -> bool:
    """The officer would otherwise have taken this pathway, and the outcome was another."""
    return (
        record.counterfactual == counterfactual
        and record.disposition is not None
        and record.disposition != AVOIDABLE[counterfactual]
    )


def estimate_rows(records: Sequence[ReportRecord], board: Board) -> list[float]:
    """Per request in the estimate: the pathway's assumed hours less its police time."""
    hours = {S297: board.costs.s297_hours, ED: board.costs.ed_hours}
    rows = []
    for r in answered(records):
        police = police_ms(r)
        pathway = AVOIDABLE.get(r.counterfactual or "")
        if pathway and police is not None and r.disposition not in (S297, ED):
            rows.append(hours[pathway] - police / HOUR_MS)
    return rows


def hours_saved(records: Sequence[ReportRecord], board: Board) -> HoursSaved:
    """Officer hours saved: as the officers reported them, and as estimated."""
    reported = [r.time_saved_min for r in records if r.time_saved_min is not None]
    estimated = estimate_rows(records, board)
    return HoursSaved(
        reported_h=round(sum(reported) / 60, 2),
        reported_n=len(reported),
        estimated_h=round(sum(estimated), 2),
        estimated_n=len(estimated),
    )


def population(board: Board) -> int | None:
    """The board's areas' summed population, when every area has one."""
    known = [a.population for a in board.areas]
    return sum(p for p in known if p is not None) if all(known) else None


def detentions(records: Sequence[ReportRecord], board: Board) -> Detentions:
    """s297 removals and examination detentions, police-station use and the rate."""
    disp = Counter(r.disposition for r in records)
    held = sum(r.in_police_station for r in records if r.disposition == S297)
    people = population(board)
    total = disp[S297] + disp[EXAMINATION]
    return Detentions(
        s297=disp[S297],
        examination=disp[EXAMINATION],
        in_police_station=held,
        in_police_station_pct=pct(held, disp[S297]),
        population=people,
        per_100k=round(total * 100_000 / people, 1) if people else None,
    )


def emergency_department(records: Sequence[ReportRecord]) -> EdFigures:
    """Conveyed to ED, and ED conveyances avoided."""
    return EdFigures(
        conveyed=sum(r.disposition == ED for r in records),
        avoided=sum(avoided(r, Counterfactual.ED_CONVEYANCE.value) for r in records),
    )


def referrals(records: Sequence[ReportRecord]) -> dict[str, ReferralFigures]:
    """Referrals by service: made, accepted, completed on time, declined, did not attend."""
    by_service: dict[str, list[FollowUp]] = {}
    for r in records:
        if r.referral is not None:
            by_service.setdefault(r.referral.service, []).append(r.referral)
    return {
        service: ReferralFigures(
            made=len(made),
            accepted=sum(f.was_accepted for f in made),
            on_time=sum(f.on_time for f in made),
            declined=sum(f.status == "declined" for f in made),
            did_not_attend=sum(f.status == "did_not_attend" for f in made),
        )
        for service, made in sorted(by_service.items())
    }


def mwc(records: Sequence[ReportRecord], now_ms: int) -> MwcFigures:
    """s298 notices: opened, due by now (or already closed), sent by their due time."""
    notices = [r.notice for r in records if r.notice is not None]
    waiting = [n for n in notices if n.status in ("pending", "accepted") and n.due_ms > now_ms]
    return MwcFigures(
        made=len(notices),
        due=len(notices) - len(waiting),
        sent_on_time=sum(n.on_time for n in notices),
    )


def usefulness(records: Sequence[ReportRecord]) -> Usefulness:
    """The officers' ratings: how many, and their mean."""
    found = [r.useful for r in records if r.useful is not None]
    return Usefulness(n=len(found), mean=round(sum(found) / len(found), 2) if found else None)


def equity(records: Sequence[ReportRecord], board: Board) -> Equity:
    """Requests by age band, sex and area (every category and area, zeros included)."""
    return Equity(
        age_band=_every(Counter(r.age_band for r in records), [a.value for a in AgeBand]),
        sex=_every(Counter(r.sex for r in records), [s.value for s in Sex]),
        area=_every(Counter(r.area_id for r in records), [a.id for a in board.areas]),
    )


def _every(counts: Counter[str], known: list[str]) -> dict[str, int]:
    """Every known category in its order (zeros included), then any other found, sorted."""
    return {k: counts[k] for k in known} | {k: counts[k] for k in sorted(set(counts) - set(known))}


def repeat(records: Sequence[ReportRecord]) -> Repeat:
    """Repeat presentations: the month's requests whose person had an earlier contact (not
    rejected by its clinician) within 30 days, and within 12 months (365 days)."""
    return Repeat(
        within_30d=sum(r.repeat_30d for r in records),
        within_12m=sum(r.repeat_12m for r in records),
    )


def cost_avoided(records: Sequence[ReportRecord], board: Board) -> CostAvoided:
    """Estimated officer hours, ED and s297 avoided, priced with the board's costs."""
    costs = board.costs
    hours = sum(estimate_rows(records, board))
    ed = sum(avoided(r, Counterfactual.ED_CONVEYANCE.value) for r in records)
    s297 = sum(avoided(r, Counterfactual.S297_REMOVAL.value) for r in records)
    parts = (
        hours * costs.officer_hour,
        ed * (costs.ed_attendance + costs.ambulance_conveyance),
        s297 * costs.s297_detention,
    )
    return CostAvoided(
        total=round(sum(parts), 2),
        officer_time=round(parts[0], 2),
        ed=round(parts[1], 2),
        s297=round(parts[2], 2),
        s297_avoided=s297,
        assumptions=costs.values(),
        assumed=sorted(costs.defaulted),
    )
