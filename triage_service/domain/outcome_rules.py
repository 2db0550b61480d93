"""The rules an outcome must satisfy before it is filed: the fields each disposition needs,
the dispositions that fit each triage code (DOMAIN.md "Code and disposition", as data), and
the checks that need the request and the time. Pure: the caller gathers the facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from triage_service.domain.codes import (
    REFERRAL_DISPOSITIONS,
    AgeBand,
    Conveyance,
    Disposition,
    ReferralService,
    TriageCode,
)
from triage_service.domain.errors import Invalid
from triage_service.domain.models import OutcomeForm
from triage_service.domain.rules import (
    DBI_CONTACT_HOURS,
    DEFAULT_RESPONSE_TARGETS_H,
    referral_due_at,
)

_TABLE: Final[dict[str, tuple[str, ...]]] = {
    "A": (
        "emergency_services",
        "emergency_department",
        "place_of_safety_s297",
        "medical_examination_detention",
        "informal_admission",
        "not_completed",
    ),
    "B": (
        "urgent_face_to_face",
        "emergency_department",
        "place_of_safety_s297",
        "medical_examination_detention",
        "informal_admission",
        "emergency_services",
        "criminal_justice",
        "not_completed",
    ),
    "C": (
        "urgent_face_to_face",
        "dbi_referral",
        "nhs24_mh_hub",
        "emergency_department",
        "informal_admission",
        "place_of_safety_s297",
        "medical_examination_detention",
        "criminal_justice",
        "not_completed",
    ),
    "D": (
        "urgent_face_to_face",
        "dbi_referral",
        "non_urgent_referral",
        "nhs24_mh_hub",
        "resolved_on_scene",
        "criminal_justice",
        "not_completed",
    ),
    "E": (
        "non_urgent_referral",
        "dbi_referral",
        "resolved_on_scene",
        "advice_only",
        "nhs24_mh_hub",
        "criminal_justice",
        "not_completed",
    ),
    "F": (
        "non_urgent_referral",
        "dbi_referral",
        "resolved_on_scene",
        "advice_only",
        "nhs24_mh_hub",
        "criminal_justice",
        "not_completed",
    ),
    "G": ("advice_only", "resolved_on_scene", "criminal_justice", "not_completed"),
}
FITTING_DISPOSITIONS: Final[dict[TriageCode, frozenset[Disposition]]] = {
    TriageCode(code): frozenset(Disposition(d) for d in fits) for code, fits in _TABLE.items()
}
"""Which dispositions fit each triage code; anything else needs an `override_reason`."""

URGENCY_CODES: Final = "ABCDE"
"""Codes with a response target, most urgent first: a referral may not be less urgent."""

REMOVAL_AHEAD: Final = timedelta(minutes=5)
REMOVAL_BEFORE_REQUEST: Final = timedelta(hours=24)
RELEASE_HORIZON: Final = timedelta(hours=24)  # an officer may stay on scene after the outcome
PLACE_OF_SAFETY_NEEDS: Final = ("person_name", "person_address", "circumstances")
DUE_SLACK: Final = timedelta(minutes=1)  # a due time typed to the minute may pass the target


@dataclass(frozen=True)
class RequestFacts:
    """What the rules need to know about the request the outcome closes."""

    created_at: datetime
    age_band: AgeBand


def check_outcome(
    outcome: OutcomeForm,
    facts: RequestFacts,
    *,
    now: datetime,
    targets_h: Mapping[str, int] = DEFAULT_RESPONSE_TARGETS_H,
) -> None:
    """Every rule an outcome must pass to be filed (`Invalid` naming the offending fields);
    `targets_h` are the response targets a referral's due time is held to."""
    _check_required_parts(outcome)
    _check_place_of_safety(outcome, facts, now)
    _check_dbi(outcome, facts)
    _check_times(outcome, facts, now)
    _check_release(outcome)
    _check_consistency(outcome, latest_due(outcome, now=now, targets_h=targets_h))


def latest_due(
    outcome: OutcomeForm, *, now: datetime, targets_h: Mapping[str, int]
) -> datetime | None:
    """The latest due time the referral's urgency allows (its response target from now), or
    None without a referral."""
    referral = outcome.referral
    if referral is None:
        return None
    return referral_due_at(
        urgency=referral.urgency,
        service=referral.service,
        made_at=now,
        response_targets_h=dict(targets_h),
    )


def departures(outcome: OutcomeForm, *, latest_due: datetime | None = None) -> dict[str, str]:
    """Where the outcome departs from the usual rules for its triage code (empty if none),
    including a referral due later than `latest_due` (its urgency's target)."""
    code = outcome.triage_code
    found: dict[str, str] = {}
    if outcome.disposition not in FITTING_DISPOSITIONS[code]:
        found["disposition"] = f"does not usually fit triage code {code}"
    referral = outcome.referral
    if referral and code in URGENCY_CODES and referral.urgency > code:
        found["referral.urgency"] = f"less urgent than triage code {code}"
    due = referral.due_at if referral else None
    if referral and due and latest_due and due > latest_due + DUE_SLACK:
        found["referral.due_at"] = f"later than the response target of urgency {referral.urgency}"
    return found


def is_override(outcome: OutcomeForm, *, latest_due: datetime | None = None) -> bool:
    """Whether the outcome is filed against the usual rules, with a stated reason."""
    return outcome.override_reason is not None and bool(departures(outcome, latest_due=latest_due))


def rules_as_data(response_targets_h: dict[str, int]) -> dict[str, Any]:
    """The same rules as JSON for the outcome form, so the page shows what the server checks."""
    return {
        "fits": {code: list(fits) for code, fits in _TABLE.items()},
        "urgency_codes": URGENCY_CODES,
        "referral_dispositions": sorted(d.value for d in REFERRAL_DISPOSITIONS),
        "targets_h": {"A": 0, **response_targets_h},
        "dbi_hours": DBI_CONTACT_HOURS,
        "dbi_min_age_excluded": AgeBand.UNDER_16.value,
        "due_slack_s": int(DUE_SLACK.total_seconds()),
        "conveyance_required": [Disposition.EMERGENCY_DEPARTMENT.value],
    }


def _check_consistency(outcome: OutcomeForm, latest: datetime | None) -> None:
    found = departures(outcome, latest_due=latest)
    if found and outcome.override_reason is None:
        raise Invalid(
            "inconsistent_outcome",
            "The outcome departs from the usual rules for its triage code; correct it, "
            "or give an override_reason for departing from them.",
            found,
        )
    if not found and outcome.override_reason is not None:
        raise Invalid(
            "override_unneeded",
            "The outcome fits the usual rules: there is nothing to override.",
            {"override_reason": "only when the outcome departs from the usual rules"},
        )


def _check_required_parts(outcome: OutcomeForm) -> None:
    if outcome.disposition in REFERRAL_DISPOSITIONS and outcome.referral is None:
        raise Invalid(
            "referral_required",
            f"A referral is required when the disposition is {outcome.disposition}.",
            {"referral": "required for this disposition"},
        )
    if outcome.disposition is Disposition.PLACE_OF_SAFETY_S297:
        if outcome.place_of_safety is None:
            raise Invalid(
                "place_of_safety_required",
                "A place of safety (s297) needs the s298 details.",
                {"place_of_safety": "required for place_of_safety_s297"},
            )
    elif outcome.place_of_safety is not None:
        raise Invalid(
            "place_of_safety_unexpected",
            "Place-of-safety details belong only to place_of_safety_s297.",
            {"place_of_safety": "only for place_of_safety_s297"},
        )
    if (
        outcome.disposition is Disposition.EMERGENCY_DEPARTMENT
        and outcome.conveyance is Conveyance.NONE
    ):
        raise Invalid(
            "conveyance_required",
            "Say how the person gets to the Emergency Department (police, ambulance, other).",
            {"conveyance": "police, ambulance or other for emergency_department"},
        )


def _check_release(outcome: OutcomeForm) -> None:
    """An officer told they may not leave has no release time."""
    if outcome.officer_can_leave is False and outcome.officer_released_at is not None:
        raise Invalid(
            "officer_release_contradiction",
            "The officer cannot both stay and have a release time.",
            {"officer_can_leave": "false, yet officer_released_at is given"},
        )


def _check_place_of_safety(outcome: OutcomeForm, facts: RequestFacts, now: datetime) -> None:
    """s298: what the Mental Welfare Commission must be told, and a plausible removal time."""
    pos = outcome.place_of_safety
    if pos is None:
        return
    if pos.is_police_station and not (pos.police_station_reason or "").strip():
        raise Invalid(
            "police_station_reason_required",
            "Say why a police station was used as the place of safety.",
            {"place_of_safety.police_station_reason": "required"},
        )
    missing = [name for name in PLACE_OF_SAFETY_NEEDS if not (getattr(pos, name) or "").strip()]
    if missing:
        raise Invalid(
            "place_of_safety_incomplete",
            "s298 needs the person's name and address and the circumstances of the removal.",
            {f"place_of_safety.{name}": "required for s298" for name in missing},
        )
    earliest = facts.created_at - REMOVAL_BEFORE_REQUEST
    if not earliest <= pos.removed_at <= now + REMOVAL_AHEAD:
        raise Invalid(
            "removed_at_out_of_range",
            "The removal time must be no more than 5 minutes ahead of now and no more than "
            "24 hours before the request.",
            {"place_of_safety.removed_at": "between 24 h before the request and 5 min from now"},
        )


def _check_dbi(outcome: OutcomeForm, facts: RequestFacts) -> None:
    """Distress Brief Intervention: people aged 16 and over, referred to the DBI service."""
    referral = outcome.referral
    to_dbi = referral is not None and referral.service is ReferralService.DBI
    if outcome.disposition is not Disposition.DBI_REFERRAL and not to_dbi:
        return
    if facts.age_band is AgeBand.UNDER_16:
        raise Invalid(
            "dbi_under_16",
            "Distress Brief Intervention is for people aged 16 and over.",
            {"subject.age_band": "DBI is for people aged 16 and over"},
        )
    if not to_dbi:
        raise Invalid(
            "dbi_service_required",
            "A DBI referral goes to the DBI service.",
            {"referral.service": "must be dbi for a DBI referral"},
        )


def _check_times(outcome: OutcomeForm, facts: RequestFacts, now: datetime) -> None:
    """A referral is not due in the past; the officer is released after the request."""
    due = outcome.referral.due_at if outcome.referral else None
    if due is not None and due < now:
        raise Invalid(
            "due_at_in_past",
            "A referral cannot be due in the past.",
            {"referral.due_at": "must not be in the past"},
        )
    released = outcome.officer_released_at or now
    if not facts.created_at <= released <= now + RELEASE_HORIZON:
        raise Invalid(
            "validation_error",
            "The officer's release time must be after the request and within a day of now.",
            {"officer_released_at": "after the request, within a day of now"},
        )
