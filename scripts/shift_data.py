"""Realistic, seeded content for simulated shifts: places, people, request forms and outcomes.

Pure functions of a `random.Random`; no I/O. Shapes follow API.md (request form, Outcome).
Mixes are plausible for a Scottish police and mental-health triage service, not official figures.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

# area: (weight, lat, lon, typical places)
AREAS: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "Glasgow City Centre": (
        14,
        55.861,
        -4.251,
        (
            "Buchanan Bus Station",
            "Central Station concourse",
            "George Square",
            "Clyde Walkway near the Squinty Bridge",
            "Argyle Street, outside a shop",
        ),
    ),
    "Glasgow East End": (6, 55.850, -4.205, ("Parkhead Forge car park", "Tollcross Park")),
    "Glasgow Govan": (4, 55.862, -4.312, ("Govan Cross subway", "Elder Park")),
    "Edinburgh City Centre": (
        9,
        55.953,
        -3.189,
        ("Waverley Station", "North Bridge", "Princes Street Gardens", "The Meadows"),
    ),
    "Edinburgh Leith": (6, 55.975, -3.170, ("The Shore", "Leith Walk", "Ocean Terminal")),
    "Edinburgh Wester Hailes": (3, 55.916, -3.284, ("Wester Hailes station", "Union Canal")),
    "Dundee City Centre": (6, 56.462, -2.970, ("Tay Road Bridge walkway", "Overgate Centre")),
    "Dundee Lochee": (2, 56.470, -3.010, ("Lochee High Street",)),
    "Aberdeen City Centre": (6, 57.149, -2.094, ("Union Street", "Aberdeen beach esplanade")),
    "Aberdeen Torry": (2, 57.135, -2.090, ("Victoria Bridge",)),
    "Inverness": (4, 57.478, -4.224, ("Ness Islands", "Inverness bus station")),
    "Paisley": (4, 55.846, -4.423, ("Paisley Gilmour Street station", "White Cart riverside")),
    "Kilmarnock": (3, 55.611, -4.495, ("Kilmarnock bus station",)),
    "Motherwell": (3, 55.789, -3.991, ("Motherwell Civic Centre",)),
    "Falkirk": (3, 56.001, -3.784, ("Falkirk High station", "Callendar Park")),
    "Stirling": (2, 56.117, -3.936, ("Stirling bus station", "Old Stirling Bridge")),
    "Perth": (2, 56.396, -3.437, ("Perth bridge over the Tay", "North Inch")),
    "Ayr": (2, 55.458, -4.629, ("Ayr beach", "Ayr station")),
    "Dumfries": (2, 55.070, -3.605, ("Whitesands", "Dumfries station")),
    "Kirkcaldy": (2, 56.111, -3.159, ("Kirkcaldy promenade",)),
    "Livingston": (2, 55.886, -3.523, ("The Centre, Livingston",)),
    "Greenock": (2, 55.948, -4.764, ("Greenock Esplanade",)),
    "Fort William": (1, 56.819, -5.105, ("Fort William High Street",)),
    "Elgin": (1, 57.649, -3.318, ("Elgin Cathedral grounds",)),
    "Stornoway": (0.5, 58.209, -6.389, ("Stornoway harbour",)),
    "Lerwick": (0.5, 60.155, -1.145, ("Lerwick harbour",)),
}
COMMON_PLACES = (
    "Private address",
    "Supermarket car park",
    "Bus stop",
    "Railway platform",
    "Outside a pub",
    "Bridge parapet",
    "Block of flats, stairwell",
    "A&E entrance",
)
PLACES_OF_SAFETY = {
    "Glasgow": ("Gartnavel Royal Hospital", "1055 Great Western Road, Glasgow G12 0XH"),
    "Edinburgh": ("Royal Edinburgh Hospital", "Morningside Terrace, Edinburgh EH10 5HF"),
    "Dundee": ("Carseview Centre", "4 Tom McDonald Avenue, Dundee DD2 1NH"),
    "Aberdeen": ("Royal Cornhill Hospital", "26 Cornhill Road, Aberdeen AB25 2ZH"),
    "Inverness": ("New Craigs Hospital", "6-16 Leachkin Road, Inverness IV3 8NP"),
    "Paisley": ("Dykebar Hospital", "Grahamston Road, Paisley PA2 7DE"),
}
DEFAULT_PLACE_OF_SAFETY = ("Forth Valley Royal Hospital", "Stirling Road, Larbert FK5 4WR")

OFFICER_NAMES = (
    "Ross Campbell",
    "Eilidh MacDonald",
    "Calum Fraser",
    "Morag Stewart",
    "Iain Robertson",
    "Kirsty Murray",
    "Euan Thomson",
    "Shona Reid",
    "Fraser Scott",
    "Catriona Ross",
    "Hamish Paterson",
    "Isla Watson",
    "Duncan Kerr",
    "Mhairi Ferguson",
    "Alasdair Grant",
    "Fiona Mackay",
)
CLINICIAN_NAMES = (
    "Aileen MacLeod",
    "Graeme Duncan",
    "Lorna Sinclair",
    "Neil Hamilton",
    "Jenna Wallace",
    "Stuart Cameron",
    "Rhona Buchanan",
    "Kenny Boyle",
)

AGE_BANDS = {
    "under_16": 4,
    "16_17": 5,
    "18_25": 22,
    "26_40": 33,
    "41_64": 28,
    "65_plus": 5,
    "unknown": 3,
}
SEXES = {"male": 52, "female": 45, "other": 1, "unknown": 2}
CONCERNS = {
    "distress": 55,
    "suicidal_thoughts": 40,
    "intoxication": 30,
    "self_harm": 20,
    "psychosis": 12,
    "aggression": 10,
    "confusion": 8,
    "other": 5,
}
URGENCIES = {"immediate": 15, "urgent": 50, "routine": 35}
MODES = {"video": 60, "audio": 28, "text": 12}
NOTES = (
    "Found sitting on the wall, says they cannot go on. Calm with officers.",
    "Called in by a member of the public. Crying, will not give a surname.",
    "Known to local services; stopped medication two weeks ago.",
    "Has had a few drinks, talking about a break-up and money worries.",
    "Hearing voices telling them they are being followed. Frightened, not aggressive.",
    "Elderly, confused about where they live. No obvious injury.",
    "Superficial cuts to forearm, first aid given. Agreed to speak to someone.",
    "Shouting in the street earlier, settled now in the back of the car.",
)

# disposition: (weight, {triage code: weight})
DISPOSITIONS: dict[str, tuple[float, dict[str, float]]] = {
    "resolved_on_scene": (34, {"D": 2, "E": 5, "G": 3}),
    "dbi_referral": (14, {"C": 2, "D": 5, "E": 3}),
    "non_urgent_referral": (12, {"D": 3, "E": 4, "F": 3}),
    "urgent_face_to_face": (9, {"B": 35, "C": 65}),
    "advice_only": (8, {"F": 3, "G": 7}),
    "emergency_department": (7, {"B": 6, "C": 4}),
    "nhs24_mh_hub": (5, {"D": 4, "E": 6}),
    "criminal_justice": (2.5, {"F": 1}),
    "informal_admission": (2, {"B": 1, "C": 1}),
    "place_of_safety_s297": (2, {"B": 1}),
    "not_completed": (1.5, {"D": 1, "E": 1}),
    "emergency_services": (1.5, {"A": 1}),
    "medical_examination_detention": (1, {"B": 1}),
}
CONVEYANCE = {
    "emergency_department": {"ambulance": 55, "police": 40, "other": 5},
    "place_of_safety_s297": {"police": 85, "ambulance": 15},
    "informal_admission": {"ambulance": 40, "other": 40, "police": 20},
    "medical_examination_detention": {"police": 70, "ambulance": 30},
    "emergency_services": {"ambulance": 1},
    "criminal_justice": {"police": 1},
}
RISK_BY_CODE = {
    "A": ("high", "moderate"),
    "B": ("high", "low"),
    "C": ("moderate", "low"),
    "D": ("moderate", "none"),
    "E": ("low", "none"),
    "F": ("low", "none"),
    "G": ("none", "none"),
}
ADVICE = {
    "resolved_on_scene": "Safety plan agreed; they are going home with a friend. You can leave.",
    "dbi_referral": "DBI practitioner will phone within 24 hours. Leave the DBI card with them.",
    "non_urgent_referral": "Referred to their GP/CMHT. Give them the Breathing Space number.",
    "urgent_face_to_face": "Crisis team will visit. Stay until they arrive or the plan starts.",
    "advice_only": "No mental-health follow-up needed. Signpost to local support.",
    "emergency_department": "Take them to A&E; the liaison psychiatry team has been told.",
    "nhs24_mh_hub": "Passed to the NHS 24 Mental Health Hub, who will call them back.",
    "criminal_justice": "Continue with the criminal justice process; custody nurse informed.",
    "informal_admission": "Informal admission agreed; ward expects them within the hour.",
    "place_of_safety_s297": "s297 removal to a place of safety for a medical examination.",
    "not_completed": "Call lost before the assessment finished. Phone the hub if needed.",
    "emergency_services": "Emergency: ambulance called. Keep them safe until it arrives.",
    "medical_examination_detention": "Doctor attending to examine for emergency detention.",
}


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


def request_form(rng: random.Random, number: int, when: datetime) -> dict[str, Any]:
    """A plausible officer's request (API.md request form)."""
    area = weighted(rng, {name: spec[0] for name, spec in AREAS.items()})
    _, lat, lon, places = AREAS[area]
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
        },
        "subject": {"age_band": weighted(rng, AGE_BANDS), "sex": weighted(rng, SEXES)},
        "urgency": urgency,
        "concerns": concerns,
        "screening": {"cssrs": screening} if screening else {},
        "mode": weighted(rng, MODES),
        "consent": True,
        "notes": pick(rng, NOTES),
    }


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


# Arrivals per hour of day relative to the mean: evenings and nights are busiest.
HOURLY_PROFILE = (
    1.3,
    1.2,
    1.0,
    0.8,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.8,
    0.9,
    1.0,
    1.1,
    1.3,
    1.5,
    1.6,
    1.7,
    1.7,
    1.6,
    1.5,
)
WEEKDAY_FACTOR = (0.9, 0.9, 0.95, 1.0, 1.2, 1.25, 1.0)  # Monday .. Sunday


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
