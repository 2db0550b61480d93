"""Local time for statistics: the counters are kept per UTC hour, and shown in a board's
(or the service's) time zone by shifting each hour by the zone's offset for that hour, so
figures stay right across daylight-saving changes (zoneinfo)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
WEEK_H = 168
Segment = tuple[int, int, int]  # from_ms, to_ms, offset in whole hours


def offset_hours(ms: int, zone: ZoneInfo) -> int:
    """The zone's offset from UTC at `ms`, in whole hours (rounded down: a +5:30 hour is
    counted in the local hour it starts in)."""
    offset = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0


def segments(from_ms: int, to_ms: int, zone: ZoneInfo) -> list[Segment]:
    """[from_ms, to_ms) cut where the zone's offset changes (at UTC hour boundaries)."""
    out: list[Segment] = []
    start, offset = from_ms, offset_hours(from_ms, zone)
    hour = (from_ms // HOUR_MS + 1) * HOUR_MS
    while hour < to_ms:
        now = offset_hours(hour, zone)
        if now != offset:
            out.append((start, hour, offset))
            start, offset = hour, now
        hour += HOUR_MS
    out.append((start, to_ms, offset))
    return out


def shift_week(by_utc_hour_of_week: list[int], offset_h: int) -> list[int]:
    """Counts by UTC hour of week (0 = Monday 00:00 UTC) as counts by local hour of week."""
    local = [0] * WEEK_H
    for hour, n in enumerate(by_utc_hour_of_week):
        local[(hour + offset_h) % WEEK_H] += n
    return local


def local_midnight(ms: int, zone: ZoneInfo) -> int:
    """The start (epoch ms) of the local day holding `ms`."""
    day = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return int(midnight.timestamp() * 1000)


def next_local_midnight(ms: int, zone: ZoneInfo) -> int:
    """The start of the local day after the one holding `ms` (23, 24 or 25 hours later)."""
    return local_midnight(local_midnight(ms, zone) + 26 * HOUR_MS, zone)
