"""Brute-force board report: every figure recomputed from the raw records, for tests.

Independent of triage_service/report: a request belongs to a month when its creation time,
shown on the board's clock, falls in that month (no span arithmetic); everything is counted
straight from the stored hashes, as DOMAIN.md "The board report" defines it."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Record = dict[str, str]
AGE_BANDS = ["under_16", "16_17", "18_25", "26_40", "41_64", "65_plus", "unknown"]
SEXES = ["female", "male", "other", "unknown"]


def local_month(ms: str | int, zone: str) -> str:
    """YYYY-MM of the instant on the zone's clock."""
    return datetime.fromtimestamp(int(ms) / 1000, ZoneInfo(zone)).strftime("%Y-%m")


def of_month(records: list[Record], board: str, zone: str, month: str) -> list[Record]:
    """The board's requests created in its local `month`."""
    return [
        r
        for r in records
        if r.get("board") == board and local_month(r["created_ms"], zone) == month
    ]


def rank(values: list[int], p: int) -> float | None:
    """Nearest rank: the smallest value with at least ceil(p% of n) at or below it."""
    ordered = sorted(values)
    return float(ordered[math.ceil(p * len(ordered) / 100) - 1]) if ordered else None


def whole_s(ms: int) -> int:
    """Seconds, rounded half up."""
    return math.floor(ms / 1000 + 0.5)


def pct(a: int, b: int) -> float | None:
    """a of b in percent, one decimal."""
    return round(100 * a / b, 1) if b else None


def police_ms(r: Record) -> int:
    """Created to released (the officer's release, else the filing time)."""
    return int(r.get("officer_released_ms") or r["completed_ms"]) - int(r["created_ms"])


def service_level(chosen: list[Record], threshold_s: int) -> float | None:
    """Answered within the threshold, of those answered."""
    waits = [int(r["first_wait_ms"]) for r in chosen if r.get("answered") == "1"]
    return pct(sum(whole_s(w) <= threshold_s for w in waits), len(waits))


def _avoided(r: Record, counterfactual: str, pathway: str) -> bool:
    return (
        r.get("counterfactual") == counterfactual
        and r["status"] == "completed"
        and r["disposition"] != pathway
    )


def _estimate(done: list[Record], hours: dict[str, float]) -> list[float]:
    pathways = {"s297_removal": "place_of_safety_s297", "ed_conveyance": "emergency_department"}
    found = []
    for r in done:
        said = r.get("counterfactual") or ""
        if said in pathways and r["disposition"] not in pathways.values():
            found.append(hours[said] - police_ms(r) / 3_600_000)
    return found


def _referrals(chosen: list[Record], follow: dict[str, Record]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for r in chosen:
        if not r.get("referral_id"):
            continue
        f = follow[r["referral_id"]]
        row = rows.setdefault(
            f["service"],
            {"made": 0, "accepted": 0, "on_time": 0, "declined": 0, "did_not_attend": 0},
        )
        row["made"] += 1
        row["accepted"] += bool(f.get("accepted_ms"))
        row["on_time"] += f["status"] == "completed" and int(f["updated_ms"]) <= int(f["due_ms"])
        row["declined"] += f["status"] == "declined"
        row["did_not_attend"] += f["status"] == "did_not_attend"
    return dict(sorted(rows.items()))


def _mwc(chosen: list[Record], follow: dict[str, Record], now_ms: int) -> dict[str, int]:
    notices = [follow[r["notice_id"]] for r in chosen if r.get("notice_id")]
    not_yet = [n for n in notices if n["status"] == "pending" and int(n["due_ms"]) > now_ms]
    sent = [n for n in notices if n["status"] == "completed"]
    return {
        "made": len(notices),
        "due": len(notices) - len(not_yet),
        "sent_on_time": sum(int(n["updated_ms"]) <= int(n["due_ms"]) for n in sent),
    }


def _detentions(done: list[Record], populations: list[int | None]) -> dict[str, Any]:
    s297 = [r for r in done if r["disposition"] == "place_of_safety_s297"]
    exam = sum(r["disposition"] == "medical_examination_detention" for r in done)
    held = sum(json.loads(r["outcome"])["place_of_safety"]["is_police_station"] for r in s297)
    people = None if None in populations else sum(p for p in populations if p)
    return {
        "s297": len(s297),
        "examination": exam,
        "in_police_station": held,
        "in_police_station_pct": pct(held, len(s297)),
        "population": people,
        "per_100k": round((len(s297) + exam) * 100_000 / people, 1) if people else None,
    }


def month_truth(
    records: list[Record],
    follow: dict[str, Record],
    *,
    board: str,
    zone: str,
    month: str,
    areas: dict[str, int | None],
    costs: dict[str, float],
    threshold_s: int,
    now_ms: int,
) -> dict[str, Any]:
    """Every figure of GET /api/v1/reports/monthly but the trend and the times, from the
    records (`areas`: the board's area ids and populations, in the file's order)."""
    chosen = of_month(records, board, zone, month)
    answered = [r for r in chosen if r.get("answered") == "1"]
    done = [r for r in chosen if r["status"] == "completed"]
    police = [police_ms(r) for r in done]
    saved = [int(r["time_saved_min"]) for r in chosen if r.get("time_saved_min")]
    rated = [int(r["useful"]) for r in chosen if r.get("useful")]
    estimate = _estimate([r for r in answered if r["status"] == "completed"], costs_hours(costs))
    ed_avoided = sum(_avoided(r, "ed_conveyance", "emergency_department") for r in chosen)
    s297_avoided = sum(_avoided(r, "s297_removal", "place_of_safety_s297") for r in chosen)
    parts = [
        sum(estimate) * costs["officer_hour"],
        ed_avoided * (costs["ed_attendance"] + costs["ambulance_conveyance"]),
        s297_avoided * costs["s297_detention"],
    ]
    ages, sexes, where = (Counter(r[k] for r in chosen) for k in ("age_band", "sex", "area_id"))
    waits = [whole_s(int(r["first_wait_ms"])) for r in answered]
    return {
        "requests": len(chosen),
        "answered": len(answered),
        "service_level_pct": service_level(chosen, threshold_s),
        "wait_s": {"p50": rank(waits, 50), "p90": rank(waits, 90)},
        "assessment_s": {
            "p50": rank([whole_s(int(r["completed_ms"]) - int(r["accepted_ms"])) for r in done], 50)
        },
        "police_time_h": {
            "n": len(police),
            "mean": round(sum(police) / len(police) / 3_600_000, 2) if police else None,
            "median": round(m / 3600, 2)
            if (m := rank([whole_s(p) for p in police], 50)) is not None
            else None,
            "total": round(sum(police) / 3_600_000, 2),
        },
        "officer_hours_saved": {
            "reported_h": round(sum(saved) / 60, 2),
            "reported_n": len(saved),
            "estimated_h": round(sum(estimate), 2),
            "estimated_n": len(estimate),
        },
        "detentions": _detentions(done, list(areas.values())),
        "ed": {
            "conveyed": sum(r["disposition"] == "emergency_department" for r in done),
            "avoided": ed_avoided,
        },
        "referrals": _referrals(chosen, follow),
        "mwc": _mwc(chosen, follow, now_ms),
        "usefulness": {
            "n": len(rated),
            "mean": round(sum(rated) / len(rated), 2) if rated else None,
        },
        "equity": {
            "age_band": {a: ages[a] for a in AGE_BANDS},
            "sex": {s: sexes[s] for s in SEXES},
            "area": {a: where[a] for a in areas},
        },
        "repeat": None,
        "cost_avoided": {
            "total": round(sum(parts), 2),
            "currency": "GBP",
            "officer_time": round(parts[0], 2),
            "ed": round(parts[1], 2),
            "s297": round(parts[2], 2),
            "s297_avoided": s297_avoided,
            "assumptions": costs,
        },
    }


def costs_hours(costs: dict[str, float]) -> dict[str, float]:
    """The pathway hours by counterfactual."""
    return {"s297_removal": costs["s297_hours"], "ed_conveyance": costs["ed_hours"]}


def trend_truth(
    records: list[Record], *, board: str, zone: str, months: list[str], threshold_s: int
) -> list[dict[str, Any]]:
    """Requests and service level of each month."""
    return [
        {
            "month": m,
            "requests": len(chosen := of_month(records, board, zone, m)),
            "service_level_pct": service_level(chosen, threshold_s),
        }
        for m in months
    ]
