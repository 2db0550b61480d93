"""Brute-force statistics: every window figure recomputed from the raw records, for tests."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from triage_service.domain.codes import conveyance_avoided

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
UTC_ZONE = ZoneInfo("UTC")
Record = dict[str, str]


async def load_all(client: aioredis.Redis, prefix: str) -> tuple[list[Record], dict[str, Record]]:
    """Every request record and every referral hash under `prefix`."""
    ids = cast(list[str], await client.zrange(prefix + "reqs:created", 0, -1))
    records = [cast(Record, await client.hgetall(f"{prefix}req:{i}")) for i in ids]
    referrals: dict[str, Record] = {}
    for r in records:
        for rid in (r.get("referral_id"), r.get("notice_id")):
            if rid:
                referrals[rid] = cast(Record, await client.hgetall(f"{prefix}referral:{rid}"))
    return records, referrals


def seconds(ms: float) -> int:
    """Whole seconds, rounded half up."""
    return math.floor(ms / 1000 + 0.5)


def nearest_rank(values: list[int], p: int) -> float | None:
    """The smallest value with at least ceil(p% of n) values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[math.ceil(p * len(ordered) / 100) - 1])


def durations(ms_values: list[int], *, wait: bool = False) -> dict[str, Any]:
    """n, mean (from milliseconds) and nearest-rank median over whole seconds; for waits
    also the 90th percentile and the maximum."""
    s = [seconds(v) for v in ms_values]
    found: dict[str, Any] = {"n": len(s), "mean": None, "p50": None}
    if s:
        found.update(mean=round(sum(ms_values) / len(s) / 1000, 1), p50=nearest_rank(s, 50))
    if wait:
        found.update(p90=nearest_rank(s, 90), max=float(max(s)) if s else None)
    return found


def pct(a: int, b: int) -> float | None:
    """a as a percentage of b, one decimal."""
    return round(100 * a / b, 1) if b else None


def _int(r: Record, name: str) -> int:
    return int(r[name])


def in_window(
    records: list[Record], start: int, end: int, board: str | None = None
) -> list[Record]:
    """The records created in [start, end) (of one `board`, when given)."""
    return [
        r
        for r in records
        if start <= _int(r, "created_ms") < end and (board is None or r.get("board") == board)
    ]


def _follow_up(
    chosen: list[Record], referrals: dict[str, Record], field: str, now_ms: int
) -> dict[str, Any]:
    made = [referrals[r[field]] for r in chosen if r.get(field)]
    done = [f for f in made if f["status"] == "completed"]
    on_time = [f for f in done if int(f["updated_ms"]) <= int(f["due_ms"])]
    not_due = [
        f for f in made if f["status"] in ("pending", "accepted") and int(f["due_ms"]) > now_ms
    ]
    due = len(made) - len(not_due)
    completion = [int(f["updated_ms"]) - int(f["created_ms"]) for f in done]
    return {
        "made": len(made),
        "due": due,
        "completed": len(done),
        "completed_on_time": len(on_time),
        "on_time_pct": pct(len(on_time), due),
        "completion_s": durations(completion) if field == "referral_id" else None,
    }


def _feedback(done: list[Record]) -> dict[str, Any]:
    rated = [int(r["useful"]) for r in done if r.get("useful")]
    saved = [int(r["time_saved_min"]) for r in done if r.get("time_saved_min")]
    return {
        "count": len(rated),
        "mean_useful": round(sum(rated) / len(rated), 2) if rated else None,
        "rated_time_saved": len(saved),
        "mean_time_saved_min": round(sum(saved) / len(saved), 1) if saved else None,
    }


def _how(r: Record, zone: ZoneInfo) -> int:
    """The local hour of week (0 = Monday 00:00 local) the request was made in."""
    local = datetime.fromtimestamp(_int(r, "created_ms") / 1000, UTC).astimezone(zone)
    return local.weekday() * 24 + local.hour


def _avoided(r: Record) -> bool:
    return conveyance_avoided(r["disposition"], r["conveyance"])


def _upstream(chosen: list[Record], done: list[Record]) -> dict[str, dict[str, int]]:
    def where(r: Record) -> str:
        return r.get("area_id") or "(not given)"

    detained = ("place_of_safety_s297", "medical_examination_detention")
    rows = {
        area: {"requests": n, "detentions": 0, "ed_conveyances": 0}
        for area, n in Counter(where(r) for r in chosen).items()
    }
    for r in done:
        rows[where(r)]["detentions"] += r["disposition"] in detained
        rows[where(r)]["ed_conveyances"] += r["disposition"] == "emergency_department"
    return dict(sorted(rows.items()))


def window_truth(
    records: list[Record],
    referrals: dict[str, Record],
    start: int,
    end: int,
    *,
    threshold_s: int = 600,
    short_abandon_s: int = 30,
    now_ms: int | None = None,
    board: str | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> dict[str, Any]:
    """The window figures of GET /api/v1/stats, from the records alone (referrals not yet due
    at `now_ms`, default `end`, are left out of the on-time rate): of one `board`'s requests
    when given, hours in `zone`."""
    now = end if now_ms is None else now_ms
    chosen = in_window(records, start, end, board)
    answered = [r for r in chosen if r.get("answered") == "1"]
    done = [r for r in chosen if r["status"] == "completed"]
    waits = [_int(r, "first_wait_ms") for r in answered]
    abandoned = [
        r
        for r in chosen
        if r["status"] == "cancelled"
        and r.get("answered") != "1"
        and _int(r, "completed_ms") - _int(r, "created_ms") >= short_abandon_s * 1000
    ]
    expired = sum(r["status"] == "expired" for r in chosen)
    within = sum(seconds(w) <= threshold_s for w in waits)
    disp = Counter(r["disposition"] for r in done)
    area = Counter(r.get("area_id") or "(not given)" for r in chosen)
    heat: dict[str, list[int]] = {}
    for r in chosen:
        heat.setdefault(r.get("area_id") or "(not given)", [0] * 168)[_how(r, zone)] += 1
    by_how = [sum(row[h] for row in heat.values()) for h in range(168)]
    subjects = [json.loads(r["form"])["subject"] for r in chosen]
    return {
        "requests": len(chosen),
        "accepted": len(answered),
        "completed": len(done),
        "cancelled": sum(r["status"] == "cancelled" for r in chosen),
        "expired": expired,
        "abandoned": len(abandoned),
        "answered_pct": pct(len(answered), len(chosen)),
        "wait_s": durations(waits, wait=True),
        "service_level": {
            "threshold_s": threshold_s,
            "pct": pct(within, len(waits)),
            "within": within,
            "answered": len(waits),
            "offered": len(waits) + len(abandoned) + expired,
            "pct_of_offered": pct(within, len(waits) + len(abandoned) + expired),
        },
        "assessment_s": durations([_int(r, "completed_ms") - _int(r, "accepted_ms") for r in done]),
        "police_s": durations(
            [_int(r, "officer_released_ms") - _int(r, "created_ms") for r in done]
        ),
        "dispositions": dict(sorted(disp.items())),
        "by_area": dict(sorted(area.items())),
        "upstream": _upstream(chosen, done),
        "by_hour": [sum(by_how[h::24]) for h in range(24)],
        "by_hour_of_week": by_how,
        "by_area_hour_of_week": dict(sorted(heat.items())),
        "by_priority": dict(sorted(Counter(r["priority"] for r in chosen).items())),
        "by_mode": dict(sorted(Counter(r["mode"] for r in chosen).items())),
        "by_age_band": dict(sorted(Counter(s["age_band"] for s in subjects).items())),
        "by_sex": dict(sorted(Counter(s["sex"] for s in subjects).items())),
        "consent": dict(sorted(Counter(r.get("consent") or "given" for r in chosen).items())),
        "triage_codes": dict(sorted(Counter(r["triage_code"] for r in done).items())),
        "conveyances": dict(sorted(Counter(r["conveyance"] for r in done).items())),
        "conveyance_avoided": sum(_avoided(r) for r in done),
        "resolved_on_scene": disp["resolved_on_scene"],
        "overrides": sum(bool(json.loads(r["outcome"]).get("override_reason")) for r in done),
        "detentions": {
            "place_of_safety_s297": disp["place_of_safety_s297"],
            "medical_examination_detention": disp["medical_examination_detention"],
            "total": disp["place_of_safety_s297"] + disp["medical_examination_detention"],
        },
        "referrals": _follow_up(chosen, referrals, "referral_id", now),
        "mwc_notifications": _follow_up(chosen, referrals, "notice_id", now),
        "feedback": _feedback(done),
    }


def _next_step(ms: int, step: int, zone: ZoneInfo) -> int:
    """The next hour, or the next local midnight in `zone` (days of 23, 24 or 25 hours)."""
    if step == HOUR_MS:
        return (ms // step + 1) * step
    day = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).date() + timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def series_truth(
    records: list[Record],
    start: int,
    end: int,
    *,
    threshold_s: int = 600,
    board: str | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> list[dict[str, Any]]:
    """Hourly (up to 48 h) or daily (local days in `zone`) points: requests, answered,
    within threshold, waits (of one `board`'s requests, when given)."""
    step = HOUR_MS if end - start <= 48 * HOUR_MS else DAY_MS
    points = []
    a = start
    while a < end:
        b = min(_next_step(a, step, zone), end)
        chosen = in_window(records, a, b, board)
        waits = [_int(r, "first_wait_ms") for r in chosen if r.get("answered") == "1"]
        within = sum(seconds(w) <= threshold_s for w in waits)
        d = durations(waits, wait=True)
        points.append(
            {
                "requests": len(chosen),
                "accepted": len(waits),
                "within": within,
                "service_level_pct": pct(within, len(waits)),
                "wait_mean_s": d["mean"],
                "wait_p50_s": d["p50"],
                "wait_p90_s": d["p90"],
            }
        )
        a = b
    return points
