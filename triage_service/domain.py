"""The clinical domain: codes, dispositions and the rules between them. No I/O here."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    OFFICER = "officer"
    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Urgency(StrEnum):
    IMMEDIATE = "immediate"
    URGENT = "urgent"
    ROUTINE = "routine"


class Mode(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


class AgeBand(StrEnum):
    UNDER_16 = "under_16"
    AGE_16_17 = "16_17"
    AGE_18_25 = "18_25"
    AGE_26_40 = "26_40"
    AGE_41_64 = "41_64"
    AGE_65_PLUS = "65_plus"
    UNKNOWN = "unknown"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Concern(StrEnum):
    SUICIDAL_THOUGHTS = "suicidal_thoughts"
    SELF_HARM = "self_harm"
    PSYCHOSIS = "psychosis"
    CONFUSION = "confusion"
    INTOXICATION = "intoxication"
    AGGRESSION = "aggression"
    DISTRESS = "distress"
    OTHER = "other"


class RequestStatus(StrEnum):
    WAITING = "waiting"
    IN_SESSION = "in_session"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Availability(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFFLINE = "offline"


class TriageCode(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"


TRIAGE_MEANING: Final[dict[TriageCode, str]] = {
    TriageCode.A: "Emergency: current actions endanger self or others. Emergency services now.",
    TriageCode.B: "Very high risk of imminent harm. Urgent face-to-face assessment arranged.",
    TriageCode.C: "High risk of harm or high distress. Face-to-face contact within a day.",
    TriageCode.D: "Moderate risk or significant distress. Contact within a few days.",
    TriageCode.E: "Low risk in the short term. Routine follow-up.",
    TriageCode.F: "Needs a referral to another service, not a mental-health visit.",
    TriageCode.G: "Advice or information only.",
}


class Disposition(StrEnum):
    ADVICE_ONLY = "advice_only"
    RESOLVED_ON_SCENE = "resolved_on_scene"
    NHS24_MH_HUB = "nhs24_mh_hub"
    DBI_REFERRAL = "dbi_referral"
    NON_URGENT_REFERRAL = "non_urgent_referral"
    URGENT_FACE_TO_FACE = "urgent_face_to_face"
    EMERGENCY_DEPARTMENT = "emergency_department"
    INFORMAL_ADMISSION = "informal_admission"
    PLACE_OF_SAFETY_S297 = "place_of_safety_s297"
    MEDICAL_EXAMINATION_DETENTION = "medical_examination_detention"
    CRIMINAL_JUSTICE = "criminal_justice"
    EMERGENCY_SERVICES = "emergency_services"
    NOT_COMPLETED = "not_completed"


REFERRAL_DISPOSITIONS: Final = frozenset({
    Disposition.DBI_REFERRAL, Disposition.NON_URGENT_REFERRAL, Disposition.URGENT_FACE_TO_FACE,
})
DETENTION_DISPOSITIONS: Final = frozenset({
    Disposition.PLACE_OF_SAFETY_S297, Disposition.MEDICAL_EXAMINATION_DETENTION,
})


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class Conveyance(StrEnum):
    NONE = "none"
    POLICE = "police"
    AMBULANCE = "ambulance"
    OTHER = "other"


class ReferralService(StrEnum):
    CRISIS_TEAM = "crisis_team"
    CMHT = "cmht"
    GP = "gp"
    DBI = "dbi"
    LIAISON_PSYCHIATRY = "liaison_psychiatry"
    CAMHS = "camhs"
    OTHER = "other"


class ReferralStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED = "cancelled"


OPEN_REFERRAL_STATUSES: Final = frozenset({ReferralStatus.PENDING, ReferralStatus.ACCEPTED})

URGENCY_PRIORITY: Final[dict[Urgency, int]] = {
    Urgency.IMMEDIATE: 1, Urgency.URGENT: 2, Urgency.ROUTINE: 3,
}
DBI_CONTACT_HOURS: Final = 24


def cssrs_imminent_risk(cssrs: dict[str, bool | None]) -> bool:
    """C-SSRS screener: yes to q4 or q5, or behaviour in the past 3 months, is imminent risk."""
    return any(bool(cssrs.get(q)) for q in ("q4", "q5", "q6_recent"))


def cssrs_ideation(cssrs: dict[str, bool | None]) -> bool:
    """Active suicidal thoughts (q2) or a method in mind (q3)."""
    return bool(cssrs.get("q2")) or bool(cssrs.get("q3"))


def request_priority(urgency: Urgency, cssrs: dict[str, bool | None] | None) -> int:
    """Queue priority, 1 most urgent: the officer's urgency, raised by the C-SSRS screen.

    Imminent risk forces 1; active ideation lifts a routine request to 2.
    """
    priority = URGENCY_PRIORITY[urgency]
    if cssrs and cssrs_imminent_risk(cssrs):
        return 1
    if cssrs and cssrs_ideation(cssrs):
        return min(priority, 2)
    return priority


def queue_score(priority: int, created_ms: int) -> float:
    """Sorted-set score giving service order: priority first, then arrival."""
    return priority * 10**13 + created_ms


def referral_due_at(*, code: TriageCode, disposition: Disposition, made_at: datetime,
                    response_targets_h: dict[str, int]) -> datetime:
    """Default due time of a referral: DBI contact within 24 h, else the code's target."""
    if disposition is Disposition.DBI_REFERRAL:
        return made_at + timedelta(hours=DBI_CONTACT_HOURS)
    if code is TriageCode.A:
        return made_at
    hours = response_targets_h.get(code.value, response_targets_h["E"])
    return made_at + timedelta(hours=hours)


def mwc_notice_due(removed_at: datetime, *, days: int) -> datetime:
    """s298: the Mental Welfare Commission must be notified within `days` of removal."""
    return removed_at + timedelta(days=days)


def estimate_wait_s(*, position: int, recent_waits_s: list[float], recent_sessions_s: list[float],
                    clinicians_available: int, clinicians_busy: int) -> float:
    """Estimated seconds until a clinician answers the request at `position` (1-based).

    If enough clinicians are free, the median recent time-to-answer. Otherwise the requests
    ahead must wait for sessions to end: each on-duty clinician clears one request per median
    session length, so the wait is roughly the median answer time plus
    ceil((position - available) / on_duty) median session lengths.
    """
    answer = _median(recent_waits_s) if recent_waits_s else 60.0
    if position <= clinicians_available:
        return answer
    on_duty = clinicians_available + clinicians_busy
    if on_duty == 0:
        return max(answer, 60.0 * position)
    session = _median(recent_sessions_s) if recent_sessions_s else 1200.0
    rounds = -(-(position - clinicians_available) // on_duty)
    return answer + rounds * session


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
