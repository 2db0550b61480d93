"""Realistic, seeded content for simulated shifts: places, people, request forms and outcomes.

Pure functions of a `random.Random`; no I/O. Shapes follow API.md (request form, Outcome).
The mixes it draws from are in `tools.shift_mix`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from triage_tools.shift_mix import (
    ADVICE,
    AGE_BANDS,
    AREAS,
    COMMON_PLACES,
    CONCERNS,
    CONVEYANCE,
    DEFAULT_PLACE_OF_SAFETY,
    DISPOSITIONS,
    HOURLY_PROFILE,
    MODES,
    NOTES,
    PLACES_OF_SAFETY,
    RISK_BY_CODE,
    SEXES,
    URGENCIES,
    WEEKDAY_FACTOR,
)

T = TypeVar("T")


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of `weights`, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """One item, uniformly."""
    return items[rng.randrange(len(items))]


def lognormal_minutes(
    rng: random.Random, median: float, sigma: float, low: float, high: float
) -> float:
    """A duration in minutes, log-normal around `median`, clipped to [low, high]."""
    return min(high, max(low, median * math.exp(rng.gauss(0, sigma))))


def cssrs(rng: random.Random, suicidal: bool) -> dict[str, bool] | None:
    """C-SSRS screener answers following its skip logic (no to q2 skips to q6)."""
    if rng.random() < 0.1:
        return None  # not asked: the person could not or would not answer
    q1 = rng.random() < (0.9 if suicidal else 0.3)
    q2 = q1 and rng.random() < (0.75 if suicidal else 0.3)
    answers = {"q1": q1, "q2": q2}
    if q2:
        answers |= {"q3": rng.random() < 0.6, "q4": rng.random() < 0.3, "q5": rng.random() < 0.15}
    lifetime = rng.random() < (0.45 if suicidal else 0.2)
    answers |= {"q6_lifetime": lifetime, "q6_recent": lifetime and rng.random() < 0.4}
    return answers


AreaSpec = tuple[float, float, float, tuple[str, ...]]  # weight, lat, lon, typical places


@dataclass(frozen=True)
class AreaMix:
    """Where requests come from: areas by name with their weights, and (with an area
    directory) each name's area id, sent as `location.area_id`."""

    areas: Mapping[str, AreaSpec]
    ids: Mapping[str, str]


NATIONAL = AreaMix(AREAS, {})


def area_mix(directory: Sequence[tuple[str, str, float | None, float | None]]) -> AreaMix:
    """The mix for a service's area directory (id, name, lat, lon of each area): its areas
    only, weighted as in `AREAS` where the names match (else as a small town); the national
    mix for the default directory of one area."""
    if len(directory) <= 1:
        return NATIONAL
    known = {name.casefold(): spec for name, spec in AREAS.items()}
    areas: dict[str, AreaSpec] = {}
    for _, name, lat, lon in directory:
        areas[name] = known.get(name.casefold()) or (2.0, lat or 56.0, lon or -4.0, ())
    return AreaMix(areas, {name: area_id for area_id, name, _, _ in directory})


def request_form(
    rng: random.Random, number: int, when: datetime, mix: AreaMix = NATIONAL
) -> dict[str, Any]:
    """A plausible officer's request (API.md request form) from an area of `mix`."""
    area = weighted(rng, {name: spec[0] for name, spec in mix.areas.items()})
    _, lat, lon, places = mix.areas[area]
    concerns = sorted(
        set(
            rng.choices(
                list(CONCERNS), weights=list(CONCERNS.values()), k=rng.choice((1, 1, 2, 2, 3))
            )
        )
    )
    urgency = weighted(rng, URGENCIES)
    if urgency == "routine" and {"aggression", "psychosis"} & set(concerns):
        urgency = "urgent"
    screening = cssrs(rng, "suicidal_thoughts" in concerns)
    return {
        "incident_ref": f"PS-{when:%Y%m%d}-{number:04d}",
        "location": {
            "description": pick(rng, places + COMMON_PLACES),
            "area": area,
            "lat": round(lat + rng.uniform(-0.01, 0.01), 5),
            "lon": round(lon + rng.uniform(-0.01, 0.01), 5),
            **({"area_id": mix.ids[area]} if area in mix.ids else {}),
        },
        "subject": {"age_band": weighted(rng, AGE_BANDS), "sex": weighted(rng, SEXES)},
        "urgency": urgency,
        "concerns": concerns,
        "screening": {"cssrs": screening} if screening else {},
        "mode": weighted(rng, MODES),
        "consent": True,
        "notes": pick(rng, NOTES),
    }


# Dispositions after which the officer stays with the person (conveys them, waits for the
# ambulance or the doctor) rather than being released at once.
STAYS_WITH_THE_PERSON = frozenset(
    {
        "place_of_safety_s297",
        "emergency_department",
        "medical_examination_detention",
        "informal_admission",
        "emergency_services",
        "criminal_justice",
    }
)


def outcome_form(rng: random.Random, form: dict[str, Any], when: datetime) -> dict[str, Any]:
    """A plausible clinician's outcome for `form` (API.md Outcome), filed at `when`."""
    disposition = weighted(rng, {d: spec[0] for d, spec in DISPOSITIONS.items()})
    if disposition == "dbi_referral" and form["subject"]["age_band"] == "under_16":
        disposition = "non_urgent_referral"  # DBI is for people aged 16 and over
    code = weighted(rng, DISPOSITIONS[disposition][1])
    to_self, to_others = RISK_BY_CODE[code]
    if "aggression" in form["concerns"] and to_others == "none":
        to_others = "moderate"
    outcome: dict[str, Any] = {
        "triage_code": code,
        "disposition": disposition,
        "risk": {
            "to_self": to_self,
            "to_others": to_others,
            "from_others": "low",
            "self_neglect": rng.choice(("none", "low", "moderate")),
        },
        "conveyance": weighted(rng, CONVEYANCE.get(disposition, {"none": 1})),
        "officer_can_leave": disposition not in STAYS_WITH_THE_PERSON,
        "summary": f"Remote assessment ({form['mode']}). Triage code {code}. "
        f"Concerns: {', '.join(form['concerns']) or 'none recorded'}.",
        "advice_to_officer": ADVICE[disposition],
    }
    referral = referral_form(rng, disposition, code, form["subject"]["age_band"])
    if referral:
        outcome["referral"] = referral
    if disposition == "place_of_safety_s297":
        outcome["place_of_safety"] = place_of_safety(rng, form["location"]["area"], when)
    return outcome


def referral_form(
    rng: random.Random, disposition: str, code: str, age_band: str
) -> dict[str, Any] | None:
    """The referral a disposition needs, if any."""
    urgency = code if code in "ABCDE" else "E"
    if disposition == "dbi_referral":
        return {"service": "dbi", "urgency": urgency}
    if disposition == "non_urgent_referral":
        return {"service": weighted(rng, {"gp": 50, "cmht": 40, "other": 10}), "urgency": urgency}
    if disposition == "urgent_face_to_face":
        young = age_band in ("under_16", "16_17")
        service = (
            "camhs"
            if young
            else weighted(rng, {"crisis_team": 60, "liaison_psychiatry": 25, "cmht": 15})
        )
        return {"service": service, "urgency": urgency}
    return None


def place_of_safety(rng: random.Random, area: str, when: datetime) -> dict[str, Any]:
    """s297 details; a police station only rarely, and then with the reason s298 asks for."""
    name, address = next(
        (v for town, v in PLACES_OF_SAFETY.items() if area.startswith(town)),
        DEFAULT_PLACE_OF_SAFETY,
    )
    police_station = rng.random() < 0.05
    return {
        "name": "Local police office" if police_station else name,
        "address": "Police Scotland office" if police_station else address,
        "is_police_station": police_station,
        "police_station_reason": (
            "No health-based place of safety bed available within reach; NHS staff attended."
        )
        if police_station
        else None,
        "removed_at": iso(when),
        "circumstances": "Removed from a public place in acute distress.",
        "person_name": "Synthetic Person",
        "person_address": "Synthetic address, not a real place",
    }


def iso(when: datetime) -> str:
    """UTC ISO-8601 with Z."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def hourly_rate(mean_per_day: float, when: datetime) -> float:
    """Expected arrivals in the hour starting at `when`."""
    profile = HOURLY_PROFILE[when.hour] / (sum(HOURLY_PROFILE) / 24)
    return mean_per_day / 24 * profile * WEEKDAY_FACTOR[when.weekday()]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method; fine for small means)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
