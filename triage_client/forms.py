"""The valid request and outcome forms (API.md) that tests, the benchmark and the headless
calls send; realistic varied ones come from `triage_tools.shift_data`."""

from __future__ import annotations

import copy
from typing import Any

REQUEST_FORM: dict[str, Any] = {
    "incident_ref": "PS-20261126-0042",
    "location": {
        "description": "Bus station, Buchanan St",
        "area": "Glasgow City Centre",
        "lat": 55.86,
        "lon": -4.25,
    },
    "subject": {"age_band": "26_40", "sex": "female", "known_name": "Jane"},
    "urgency": "urgent",
    "concerns": ["suicidal_thoughts", "distress"],
    "screening": {
        "cssrs": {
            "q1": True,
            "q2": True,
            "q3": False,
            "q4": False,
            "q5": False,
            "q6_lifetime": False,
            "q6_recent": False,
        }
    },
    "mode": "video",
    "consent": True,
    "notes": "Sitting on the platform edge, calm now.",
}

OUTCOME_FORM: dict[str, Any] = {
    "triage_code": "C",
    "disposition": "urgent_face_to_face",
    "risk": {"to_self": "high", "to_others": "low", "from_others": "none", "self_neglect": "low"},
    "conveyance": "none",
    "summary": "Distressed, suicidal ideation without plan. Safety plan agreed.",
    "advice_to_officer": "Stay with her until the crisis team arrives within 24 hours.",
    "referral": {"service": "crisis_team", "urgency": "C"},
}

# The smallest valid forms, text mode and no referral: what the benchmark sends, so its
# figures stay comparable from run to run.
SHORT_REQUEST_FORM: dict[str, Any] = {
    "incident_ref": "PS-BENCH-0001",
    "location": {"description": "Bus station, Buchanan St", "area": "Glasgow City Centre"},
    "subject": {"age_band": "26_40", "sex": "female"},
    "urgency": "urgent",
    "concerns": ["distress"],
    "screening": {"cssrs": {"q1": True, "q2": False}},
    "mode": "text",
    "consent": True,
    "notes": "benchmark",
}
SHORT_OUTCOME_FORM: dict[str, Any] = {
    "triage_code": "E",
    "disposition": "resolved_on_scene",
    "conveyance": "none",
    "risk": {"to_self": "low", "to_others": "none"},
    "summary": "benchmark",
    "advice_to_officer": "Safety plan agreed.",
}


def request_form(**changes: Any) -> dict[str, Any]:
    """A deep copy of REQUEST_FORM with top-level fields replaced."""
    return {**copy.deepcopy(REQUEST_FORM), **copy.deepcopy(changes)}
