"""Statistics windows: `window` or `from`/`to` as a span, and planning what to read for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from triage_service.domain.errors import Invalid
from triage_service.stats.local_time import next_local_midnight

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WINDOWS = {"1h": HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
MAX_SPAN_DAYS = 366
MAX_LEVEL = 10  # blocks of up to 2**10 hours, as `lua/_counters.lua` keeps them
HOURLY_SERIES_UP_TO_MS = 48 * HOUR_MS
# Requests are also counted per 5-minute slice and per minute (`lua/_counters.lua`), widest
# first: the plan's lists of each, then the spans left over, read from the requests.
SLICE_WIDTHS = (("slices", 300_000), ("minutes", 60_000))
# Reading an hour's block costs about as much as this many slices (see `plan_span`).
HOUR_BLOCK_COST = 3
Piece = tuple[str, int, int]  # ("slices" | "minutes", index, 0) or ("edges", from, to)


@dataclass(frozen=True, slots=True)
class Window:
    """Requests created from `from_ms` (inclusive) to `to_ms` (exclusive)."""

    from_ms: int
    to_ms: int


@dataclass(frozen=True, slots=True)
class Detail:
    """The optional parts of the answer, which cost more than the rest."""

    series: bool = False
    heat_map: bool = False


def window_for(
    name: str | None,
    start: datetime | None,
    end: datetime | None,
    *,
    now_ms: int,
    default: str = "24h",
) -> Window:
    """`window` (1h, 24h, 7d, 30d) ending now, or `from` and `to` together; 422 naming the
    field. The query model has already parsed each value on its own."""
    if start is None and end is None:
        return Window(now_ms - WINDOWS[name or default], now_ms)
    if name is not None:
        raise Invalid(
            "validation_error",
            "Give either window or from and to, not both.",
            {"window": "not allowed with from and to"},
        )
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise Invalid(
            "validation_error",
            f"{missing} is required with the other bound.",
            {missing: "required"},
        )
    from_ms, to_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    if to_ms <= from_ms:
        raise Invalid(
            "validation_error", "to must be later than from.", {"to": "must be later than from"}
        )
    if to_ms - from_ms > MAX_SPAN_DAYS * DAY_MS:
        raise Invalid(
            "validation_error",
            f"A window spans at most {MAX_SPAN_DAYS} days.",
            {"to": f"at most {MAX_SPAN_DAYS} days after from"},
        )
    return Window(from_ms, to_ms)


def local_window(
    name: str | None,
    start: datetime | date | None,
    end: datetime | date | None,
    zone: ZoneInfo,
    *,
    now_ms: int,
    default: str,
) -> Window:
    """`window_for` where `from` and `to` may be local days in `zone`: `from` from the first
    moment of its day, `to` to the end of its day (the last day is included)."""
    return window_for(
        name, _day_start(start, zone, 0), _day_start(end, zone, 1), now_ms=now_ms, default=default
    )


def _day_start(value: datetime | date | None, zone: ZoneInfo, days: int) -> datetime | None:
    """A time as it is; a day as the local midnight starting it (`days` later)."""
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def dyadic_blocks(first_hour: int, end_hour: int) -> list[list[int]]:
    """Hours [first_hour, end_hour) as the fewest aligned blocks: [level, index] pairs.

    A block of level k holds hours [index * 2**k, (index + 1) * 2**k); the greedy cover
    takes at most two blocks per level below the top one.
    """
    blocks: list[list[int]] = []
    hour = first_hour
    while hour < end_hour:
        level = 0
        while level < MAX_LEVEL and hour % (2 << level) == 0 and hour + (2 << level) <= end_hour:
            level += 1
        blocks.append([level, hour >> level])
        hour += 1 << level
    return blocks


def plan_span(from_ms: int, to_ms: int) -> dict[str, list[list[int]]]:
    """What `lua/stats.lua` reads for [from_ms, to_ms).

    Whole hours are blocks ([level, index]); a partial hour is its 5-minute slices and
    whole minutes ([index, sign]) and, for the seconds left over, the requests themselves
    ([from_ms, to_ms, sign]), or, when that is fewer pieces, the hour's block less the
    slices, minutes and requests of the rest of the hour.
    """
    first_full, end_full = -(-from_ms // HOUR_MS), to_ms // HOUR_MS
    plan: dict[str, list[list[int]]] = {"blocks": [], "slices": [], "minutes": [], "edges": []}
    if first_full > end_full:  # within one hour
        _plan_partial_hour(plan, end_full, from_ms, to_ms)
        return plan
    plan["blocks"] = dyadic_blocks(first_full, end_full)
    if from_ms < first_full * HOUR_MS:
        _plan_partial_hour(plan, first_full - 1, from_ms, first_full * HOUR_MS)
    if to_ms > end_full * HOUR_MS:
        _plan_partial_hour(plan, end_full, end_full * HOUR_MS, to_ms)
    return plan


def _plan_partial_hour(plan: dict[str, list[list[int]]], hour: int, a: int, b: int) -> None:
    start, end = hour * HOUR_MS, (hour + 1) * HOUR_MS
    inside = _slice_cover(a, b)
    outside = _slice_cover(start, a) + _slice_cover(b, end)
    if len(inside) <= len(outside) + HOUR_BLOCK_COST:
        _add_cover(plan, inside, 1)
    else:
        plan["blocks"].append([0, hour])
        _add_cover(plan, outside, -1)


def _slice_cover(a: int, b: int, level: int = 0) -> list[Piece]:
    """[a, b) as whole slices of `SLICE_WIDTHS[level]`, narrower ones at their ends, and
    the spans left over."""
    if a >= b:
        return []
    if level == len(SLICE_WIDTHS):
        return [("edges", a, b)]
    name, width = SLICE_WIDTHS[level]
    first, end = -(-a // width), b // width
    if first >= end:
        return _slice_cover(a, b, level + 1)
    return (
        _slice_cover(a, first * width, level + 1)
        + [(name, index, 0) for index in range(first, end)]
        + _slice_cover(end * width, b, level + 1)
    )


def _add_cover(plan: dict[str, list[list[int]]], cover: list[Piece], sign: int) -> None:
    for name, a, b in cover:
        plan[name].append([a, b, sign] if name == "edges" else [a, sign])


def series_points(
    window: Window, zone: ZoneInfo | None = None
) -> tuple[int, list[tuple[int, int]]]:
    """The step (an hour up to 48 h, else a day: a UTC day, or a local one in `zone`) and
    the window cut at each step."""
    step = HOUR_MS if window.to_ms - window.from_ms <= HOURLY_SERIES_UP_TO_MS else DAY_MS
    points = []
    start = window.from_ms
    while start < window.to_ms:
        if step == DAY_MS and zone is not None:
            boundary = next_local_midnight(start, zone)
        else:
            boundary = (start // step + 1) * step
        end = min(boundary, window.to_ms)
        points.append((start, end))
        start = end
    return step, points
