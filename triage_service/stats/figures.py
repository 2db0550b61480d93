"""Window statistics for supervisors and evaluators, read from the counters, never a scan.

A window [from, to) covers the requests *created* in it and everything that has happened to
them since (answered, outcome, referral completed). The lifecycle scripts count each request
into the bucket of its creation hour, the aligned blocks of 2, 4, ... 1024 hours holding
it, its 5-minute slice and its minute (`lua/_counters.lua`). A window's whole hours are read
as at most two blocks per level, its partial hours as slices and minutes, and the seconds
left at its two ends from the requests themselves (`stats_window.plan_span`,
`lua/stats.lua`). Durations also go into sorted sets per 4096 s, 256 s and 16 s bin and per
second, scored by creation time, so a percentile counts the window's values bin by bin
(ZCOUNT) down to the second (`lua/stats_bins.lua`). The cost so depends on the window's
length and the demand in its edge minutes, not on how many requests are stored.

Percentiles are nearest-rank over whole seconds (each duration rounded half up): pN is the
smallest value v such that at least ceil(N * n / 100) of the n values are at most v; the
maximum is p100. Means are exact, from millisecond sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from triage_service.domain.codes import Disposition
from triage_service.domain.times import to_datetime
from triage_service.settings import Settings
from triage_service.stats.local_time import local_midnight, segments, shift_week
from triage_service.stats.models import (
    AreaUpstream,
    Detentions,
    Durations,
    Feedback,
    FollowUps,
    Repeat,
    Series,
    SeriesPoint,
    ServiceLevel,
    WaitDurations,
    WindowStats,
)
from triage_service.stats.window import HOUR_MS, Detail, Window, plan_span, series_points
from triage_service.store.store import Store

# Nearest-rank percentiles computed per duration (100 is the maximum). Each costs a walk
# down the duration bins (some dozens of ZCOUNTs), so only these are computed.
PERCENTILES = {"wait": [50, 90, 100], "assess": [50], "police": [50], "refdone": [50]}
NO_AREA = "(not given)"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: one health board's (its counters) or the whole service's, and the
    time zone their hours and days are shown in."""

    board: str | None
    zone: ZoneInfo


def scope_for(settings: Settings, board: str | None) -> Scope:
    """The board's time zone, or the service's (`timezone`) for the whole service."""
    found = settings.areas.board(board) if board else None
    return Scope(board, found.zone if found else ZoneInfo(settings.timezone))


def build_spec(
    window: Window,
    settings: Settings,
    detail: Detail,
    scope: Scope | None = None,
    *,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """What `lua/stats.lua` reads for this window and each point of its series (`now_ms`:
    referrals due after it are not yet counted in the on-time rate; default the window's
    end)."""
    scope = scope or scope_for(settings, None)
    points = series_points(window, scope.zone)[1] if detail.series else []
    spec: dict[str, Any] = {
        **read_plan(window.from_ms, window.to_ms),
        "now_ms": window.to_ms if now_ms is None else now_ms,
        "short_abandon_ms": settings.short_abandon_s * 1000,
        "threshold_s": settings.service_level_s,
        "percentiles": PERCENTILES,
        "heat_map": detail.heat_map,
        "series": [read_plan(start, end) for start, end in points],
    }
    if scope.board:
        spec["board"] = scope.board
    cuts = segments(window.from_ms, window.to_ms, scope.zone)
    if len(cuts) > 1:  # the offset changes inside the window: read each part's hours apart
        spec["segments"] = [read_plan(start, end) for start, end, _ in cuts]
    return spec


def read_plan(from_ms: int, to_ms: int) -> dict[str, Any]:
    """The span [from_ms, to_ms) (for the sorted sets of durations) and the counters that
    cover it."""
    return {"span": [from_ms, to_ms], **plan_span(from_ms, to_ms)}


async def window_stats(
    store: Store,
    settings: Settings,
    window: Window,
    detail: Detail,
    scope: Scope | None = None,
    *,
    now_ms: int | None = None,
) -> WindowStats:
    """The figures of one window, in one atomic read of the counters and edge records."""
    scope = scope or scope_for(settings, None)
    spec = build_spec(window, settings, detail, scope, now_ms=now_ms)
    return shape_window(await store.stats.window(spec), window, settings, detail, scope)


def shape_window(
    result: dict[str, Any],
    window: Window,
    settings: Settings,
    detail: Detail,
    scope: Scope | None = None,
) -> WindowStats:
    """The script's sums as the API's window figures, hours and days in local time."""
    scope = scope or scope_for(settings, None)
    c: dict[str, int] = result["counts"] or {}
    d: dict[str, dict[str, Any]] = result["durations"]
    accepted, within = c.get("accepted", 0), int(result["within"])
    parts = _local_parts(result, window, scope.zone)
    by_hour_of_week = [0] * 168
    for counts, _, offset in parts:
        for hour, n in enumerate(shift_week(hours_of_week(counts), offset)):
            by_hour_of_week[hour] += n
    disp = prefixed(c, "disp:")
    return WindowStats(
        start=_dt(window.from_ms),
        end=_dt(window.to_ms),
        requests=c.get("requests", 0),
        accepted=accepted,
        completed=c.get("completed", 0),
        cancelled=c.get("cancelled", 0),
        expired=c.get("expired", 0),
        wait_s=waits(c, d["wait"]),
        service_level=service_level(c, within, result, window, settings, detail, scope.zone),
        assessment_s=durations(c, d["assess"], "assess"),
        dispositions=disp,
        by_area={_area(k): v for k, v in prefixed(c, "area:").items()},
        upstream=upstream(c),
        by_hour=[sum(by_hour_of_week[h::24]) for h in range(24)],
        abandoned=c.get("abandoned", 0),
        answered_pct=pct(accepted, c.get("requests", 0)),
        police_s=durations(c, d["police"], "police"),
        by_priority=prefixed(c, "prio:"),
        by_mode=prefixed(c, "mode:"),
        by_age_band=prefixed(c, "age:"),
        by_sex=prefixed(c, "sex:"),
        consent=prefixed(c, "consent:"),
        triage_codes=prefixed(c, "code:"),
        conveyances=prefixed(c, "conv:"),
        conveyance_avoided=c.get("conveyance_avoided", 0),
        resolved_on_scene=disp.get(Disposition.RESOLVED_ON_SCENE, 0),
        overrides=c.get("overrides", 0),
        detentions=detentions(disp),
        referrals=follow_ups(c, "referrals", "ref", result, d.get("refdone")),
        mwc_notifications=follow_ups(c, "s297", "mwc", result),
        feedback=feedback(c),
        repeat=repeat(c) if settings.linking else None,
        by_hour_of_week=by_hour_of_week,
        by_area_hour_of_week=local_heat_map(parts) if detail.heat_map else None,
        series=series(result, window, scope.zone) if detail.series else None,
    )


LocalPart = tuple[dict[str, int], dict[str, int], int]  # counts, heat cells, offset (hours)


def _local_parts(result: dict[str, Any], window: Window, zone: ZoneInfo) -> list[LocalPart]:
    """The window's hour-of-week counters and heat cells with the zone's offset for them:
    one part, or one per stretch of constant offset (`segments` in the spec)."""
    cuts = segments(window.from_ms, window.to_ms, zone)
    found = result.get("segments") or [{"counts": result["counts"], "heat": result["heat"]}]
    return [
        (part["counts"] or {}, part["heat"] or {}, offset)
        for part, (_, _, offset) in zip(found, cuts, strict=True)
    ]


def hours_of_week(counts: dict[str, int]) -> list[int]:
    """Requests by UTC hour of week, from the `how:` counters."""
    by_hour = [0] * 168
    for hour, n in prefixed(counts, "how:").items():
        by_hour[int(hour)] = n
    return by_hour


def local_heat_map(parts: list[LocalPart]) -> dict[str, list[int]]:
    """Requests by area id and local hour of week (168 hours from Monday 00:00)."""
    rows: dict[str, list[int]] = {}
    for _, cells, offset in parts:
        for area, hours in heat_map(cells).items():
            row = rows.setdefault(area, [0] * 168)
            for hour, n in enumerate(shift_week(hours, offset)):
                row[hour] += n
    return dict(sorted(rows.items()))


def prefixed(counts: dict[str, int], prefix: str) -> dict[str, int]:
    """The counters named `prefix` + something, by that something (zeros left out)."""
    return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix) and v}


def heat_map(cells: dict[str, int]) -> dict[str, list[int]]:
    """Requests by area id and UTC hour of week (168 hours from Monday 00:00 UTC)."""
    rows: dict[str, list[int]] = {}
    for field, n in prefixed(cells, "").items():
        hour, _, area = field.partition(":")
        rows.setdefault(_area(area), [0] * 168)[int(hour)] += n
    return dict(sorted(rows.items()))


def durations(counts: dict[str, int], found: dict[str, Any], kind: str) -> Durations:
    """Mean (from the millisecond sums) and nearest-rank median of one duration."""
    n = int(found["n"])
    if n == 0:
        return Durations(n=0)
    return Durations(
        n=n, mean=round(counts.get(f"{kind}_sum_ms", 0) / n / 1000, 1), p50=found["p50"]
    )


def waits(counts: dict[str, int], found: dict[str, Any]) -> WaitDurations:
    """Time to connect: `durations`, the 90th percentile and the longest wait."""
    return WaitDurations(
        **durations(counts, found, "wait").model_dump(), p90=found.get("p90"), max=found.get("p100")
    )


def service_level(
    counts: dict[str, int],
    within: int,
    result: dict[str, Any],
    window: Window,
    settings: Settings,
    detail: Detail,
    zone: ZoneInfo,
) -> ServiceLevel:
    """Answered within the threshold, of those answered and of those offered."""
    answered = counts.get("accepted", 0)
    offered = answered + counts.get("abandoned", 0) + counts.get("expired", 0)
    return ServiceLevel(
        threshold_s=settings.service_level_s,
        pct=pct(within, answered),
        within=within,
        answered=answered,
        offered=offered,
        pct_of_offered=pct(within, offered),
        today_pct=today_pct(result, window, zone) if detail.series else None,
    )


def today_pct(result: dict[str, Any], window: Window, zone: ZoneInfo) -> float | None:
    """Service level since local midnight of the window's last day, when its series is
    hourly."""
    midnight = local_midnight(window.to_ms - 1, zone)
    step, points = series_points(window, zone)
    if step != HOUR_MS or window.from_ms > midnight:
        return None
    today = [
        p for p, (start, _) in zip(result["series"] or [], points, strict=True) if start >= midnight
    ]
    return pct(sum(p["within"] for p in today), sum(p["accepted"] for p in today))


def follow_ups(
    counts: dict[str, int],
    made: str,
    prefix: str,
    result: dict[str, Any],
    completion: dict[str, Any] | None = None,
) -> FollowUps:
    """Referrals (or s298 notifications) made, completed, and completed by their due time,
    as a share of those already due (or closed): one still open and not yet due is no
    failure yet."""
    on_time, n_made = counts.get(f"{prefix}_on_time", 0), counts.get(made, 0)
    due = max(0, n_made - int((result.get("not_due") or {}).get(prefix, 0)))
    return FollowUps(
        made=n_made,
        due=due,
        completed=counts.get(f"{prefix}_completed", 0),
        completed_on_time=on_time,
        on_time_pct=pct(on_time, due),
        completion_s=durations(counts, completion, "refdone") if completion else None,
    )


def feedback(counts: dict[str, int]) -> Feedback:
    """How many officers rated their assessment, the mean rating and minutes saved."""
    n, saved_n = counts.get("feedback", 0), counts.get("time_saved_n", 0)
    return Feedback(
        count=n,
        mean_useful=round(counts.get("useful_sum", 0) / n, 2) if n else None,
        rated_time_saved=saved_n,
        mean_time_saved_min=round(counts.get("time_saved_sum", 0) / saved_n, 1)
        if saved_n
        else None,
    )


def repeat(counts: dict[str, int]) -> Repeat:
    """Repeat presentations, from the `repeat_30d` and `repeat_12m` counters
    (lua/_common.lua `person_repeat`)."""
    return Repeat(within_30d=counts.get("repeat_30d", 0), within_12m=counts.get("repeat_12m", 0))


def upstream(counts: dict[str, int]) -> dict[str, AreaUpstream]:
    """Requests, detentions and emergency department conveyances by area id, from the
    `area:`, `adet:` and `aed:` counters (lua/_outcome_counts.lua `outcome_fields`)."""
    requests, held, conveyed = (prefixed(counts, p) for p in ("area:", "adet:", "aed:"))
    return {
        _area(area): AreaUpstream(
            requests=requests.get(area, 0),
            detentions=held.get(area, 0),
            ed_conveyances=conveyed.get(area, 0),
        )
        for area in sorted(requests.keys() | held.keys() | conveyed.keys())
    }


def detentions(disp: dict[str, int]) -> Detentions:
    """Removals to a place of safety (s297) and detentions for medical examination."""
    s297 = disp.get(Disposition.PLACE_OF_SAFETY_S297, 0)
    medical = disp.get(Disposition.MEDICAL_EXAMINATION_DETENTION, 0)
    return Detentions(
        place_of_safety_s297=s297, medical_examination_detention=medical, total=s297 + medical
    )


def series(result: dict[str, Any], window: Window, zone: ZoneInfo) -> Series:
    """Per hour (windows up to 48 h) or per local day: demand, waits and service level."""
    step, points = series_points(window, zone)
    out = []
    for found, (start, _) in zip(result["series"] or [], points, strict=True):
        accepted, wait = found["accepted"], found["wait"]
        out.append(
            SeriesPoint(
                start=_dt(start),
                requests=found["requests"],
                accepted=accepted,
                within=found["within"],
                service_level_pct=pct(found["within"], accepted),
                wait_mean_s=round(found["wait_sum_ms"] / accepted / 1000, 1) if accepted else None,
                wait_p50_s=wait.get("p50"),
                wait_p90_s=wait.get("p90"),
            )
        )
    return Series(step_s=step // 1000, points=out)


def pct(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, to one decimal; None when `whole` is 0."""
    return round(100 * part / whole, 1) if whole else None


def _area(area: str) -> str:
    return area or NO_AREA


def _dt(ms: int) -> datetime:
    value = to_datetime(ms)
    return value if value is not None else datetime.fromtimestamp(0, UTC)
