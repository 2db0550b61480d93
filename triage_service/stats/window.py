"""Statistics windows: parsing `window` or `from`/`to`, and planning what to read for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from triage_service.domain.errors import Invalid

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WINDOWS = {"1h": HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
MAX_SPAN_DAYS = 366
MAX_LEVEL = 10  # blocks of up to 2**10 hours, as `lua/_common.lua` keeps them
HOURLY_SERIES_UP_TO_MS = 48 * HOUR_MS
# Requests are also counted per 5-minute slice and per minute (`lua/_common.lua`), widest
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


def parse_detail(query: Mapping[str, str]) -> Detail:
    """`series` and `heat_map`, both off unless asked for (`true` or `1`)."""
    return Detail(series=_flag(query, "series", False), heat_map=_flag(query, "heat_map", False))


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise Invalid(
            "validation_error", f"{name} must be true or false.", {name: "must be true or false"}
        )
    return raw.lower() in ("true", "1")


def parse_window(query: Mapping[str, str], *, now_ms: int, default: str = "24h") -> Window:
    """`window=1h|24h|7d|30d` ending now, or `from` and `to` (ISO 8601); 422 naming the field."""
    start, end = query.get("from"), query.get("to")
    if start is None and end is None:
        name = query.get("window", default)
        if name not in WINDOWS:
            raise Invalid(
                "validation_error",
                "window must be 1h, 24h, 7d or 30d.",
                {"window": "must be one of 1h, 24h, 7d, 30d"},
            )
        return Window(now_ms - WINDOWS[name], now_ms)
    if "window" in query:
        raise Invalid(
            "validation_error",
            "Give either window or from and to, not both.",
            {"window": "not allowed with from and to"},
        )
    from_ms, to_ms = _instant("from", start), _instant("to", end)
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


def _instant(name: str, raw: str | None) -> int:
    if raw is None:
        raise Invalid(
            "validation_error", f"{name} is required with the other bound.", {name: "required"}
        )
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as e:
        raise Invalid(
            "validation_error",
            f"{name} is not an ISO 8601 time.",
            {name: "must be an ISO 8601 time, e.g. 2026-11-26T00:00:00Z"},
        ) from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not 2000 <= value.astimezone(UTC).year < 3000:
        raise Invalid(
            "validation_error",
            f"{name} is out of range.",
            {name: "must be between the years 2000 and 2999"},
        )
    return int(value.timestamp() * 1000)


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


def series_points(window: Window) -> tuple[int, list[tuple[int, int]]]:
    """The step (an hour up to 48 h, else a UTC day) and the window cut at each step."""
    step = HOUR_MS if window.to_ms - window.from_ms <= HOURLY_SERIES_UP_TO_MS else DAY_MS
    points = []
    start = window.from_ms
    while start < window.to_ms:
        end = min((start // step + 1) * step, window.to_ms)
        points.append((start, end))
        start = end
    return step, points
