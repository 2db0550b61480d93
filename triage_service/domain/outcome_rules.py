"""The rules an outcome must satisfy before it is filed: the fields each disposition needs."""

from __future__ import annotations

from triage_service.domain.codes import REFERRAL_DISPOSITIONS, Disposition, TriageCode
from triage_service.domain.errors import Invalid
from triage_service.domain.models import OutcomeForm


def check_outcome(outcome: OutcomeForm) -> None:
    """The fields each disposition needs (`Invalid` naming the missing one)."""
    if outcome.disposition in REFERRAL_DISPOSITIONS and outcome.referral is None:
        raise Invalid(
            "referral_required",
            f"A referral is required when the disposition is {outcome.disposition}.",
            {"referral": "required for this disposition"},
        )
    if outcome.disposition is Disposition.PLACE_OF_SAFETY_S297:
        pos = outcome.place_of_safety
        if pos is None:
            raise Invalid(
                "place_of_safety_required",
                "A place of safety (s297) needs the s298 details.",
                {"place_of_safety": "required for place_of_safety_s297"},
            )
        if pos.is_police_station and not (pos.police_station_reason or "").strip():
            raise Invalid(
                "police_station_reason_required",
                "Say why a police station was used as the place of safety.",
                {"place_of_safety.police_station_reason": "required"},
            )
    elif outcome.place_of_safety is not None:
        raise Invalid(
            "place_of_safety_unexpected",
            "Place-of-safety details belong only to place_of_safety_s297.",
            {"place_of_safety": "only for place_of_safety_s297"},
        )
    if outcome.triage_code is TriageCode.A and outcome.disposition is Disposition.ADVICE_ONLY:
        raise Invalid(
            "inconsistent_outcome",
            "Code A (emergency) cannot be advice only.",
            {"disposition": "not allowed with triage code A"},
        )
