"""The clinical domain: codes, dispositions and the rules between them. No I/O here."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    OFFICER = "officer"
    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    RECEIVER = "receiver"  # a member of a team that acts on referrals (crisis team, CMHT, ...)


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


REFERRAL_DISPOSITIONS: Final = frozenset(
    {
        Disposition.DBI_REFERRAL,
        Disposition.NON_URGENT_REFERRAL,
        Disposition.URGENT_FACE_TO_FACE,
    }
)
DETENTION_DISPOSITIONS: Final = frozenset(
    {
        Disposition.PLACE_OF_SAFETY_S297,
        Disposition.MEDICAL_EXAMINATION_DETENTION,
    }
)


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


# "Conveyance avoided" (the statistics' count): the person went neither to the emergency
# department nor was left unassessed, and no ambulance took them. The outcome counters
# (store/lua/_outcome_counts.lua) get these sets rendered from here (store/rules.py).
CONVEYANCE_NOT_AVOIDED: Final = frozenset(
    {Disposition.EMERGENCY_DEPARTMENT, Disposition.NOT_COMPLETED}
)
CONVEYED_TO_HOSPITAL: Final = frozenset({Conveyance.AMBULANCE})


def conveyance_avoided(disposition: str, conveyance: str) -> bool:
    """Whether an outcome counts as a conveyance to hospital avoided."""
    return disposition not in CONVEYANCE_NOT_AVOIDED and conveyance not in CONVEYED_TO_HOSPITAL


class Counterfactual(StrEnum):
    """What the officer would most likely have done without the assessment (feedback)."""

    S297_REMOVAL = "s297_removal"
    ED_CONVEYANCE = "ed_conveyance"
    ARREST = "arrest"
    NO_SUPPORT = "no_support"
    OTHER_SERVICE = "other_service"
    SAME = "same"


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
    DECLINED = "declined"


OPEN_REFERRAL_STATUSES: Final = frozenset({ReferralStatus.PENDING, ReferralStatus.ACCEPTED})
# What a receiving team may record, and what the referring clinician may.
RECEIVER_STATUSES: Final = frozenset(
    {
        ReferralStatus.ACCEPTED,
        ReferralStatus.DECLINED,
        ReferralStatus.COMPLETED,
        ReferralStatus.DID_NOT_ATTEND,
    }
)
CLINICIAN_STATUSES: Final = frozenset(
    {
        ReferralStatus.ACCEPTED,
        ReferralStatus.COMPLETED,
        ReferralStatus.DID_NOT_ATTEND,
        ReferralStatus.CANCELLED,
    }
)


STATS_ROLES = (Role.SUPERVISOR, Role.ADMIN)

CONSENT_GIVEN: Final = "given"


def consent_recorded(consent: object) -> str:
    """How a form's consent is kept and counted: `true` as `given`, a named value (such as
    `lacks_capacity`) as itself."""
    return CONSENT_GIVEN if consent is True else str(consent)
