"""The safety net's rules: what an officer is offered while nobody answers, how honest the wait
estimate is, which alarms are critical and how often an escalation is retried. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Final


class FallbackReason(StrEnum):
    """Why the officer is shown the phone line."""

    NO_CLINICIAN_ON_DUTY = "no_clinician_on_duty"
    LONG_WAIT = "long_wait"
    EXPIRED = "expired"


class AlarmKind(StrEnum):
    """What an alarm is about."""

    LONG_WAIT = "long_wait"
    NO_CLINICIAN_ON_DUTY = "no_clinician_on_duty"
    EXPIRED = "expired"
    REFERRAL_OVERDUE = "referral_overdue"
    REFERRAL_DECLINED = "referral_declined"
    REFERRAL_UNSTAFFED = "referral_unstaffed"
    S298_DUE = "s298_due"


class AlarmLevel(StrEnum):
    """Critical alarms leave the building (webhook, e-mail); warnings stay on the dashboard."""

    WARNING = "warning"
    CRITICAL = "critical"


MEANWHILE: Final = (
    "Meanwhile stay with the person and keep everyone safe; call {emergency} if anyone is in "
    "danger now."
)
FALLBACK_MESSAGES: Final[dict[FallbackReason, str]] = {
    FallbackReason.NO_CLINICIAN_ON_DUTY: (
        "No clinician is on duty right now. Phone {phone} for mental-health advice. Your request "
        "stays in the queue: if a clinician comes on duty, the call starts here."
    ),
    FallbackReason.LONG_WAIT: (
        "Nobody has answered yet. If you cannot wait, phone {phone}. Your request keeps its "
        "place in the queue."
    ),
    FallbackReason.EXPIRED: "No clinician could answer in time. Phone {phone} for advice.",
}
BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 60.0


def fallback_reason(
    *, status: str, clinicians_on_duty: int, waited_s: float, fallback_after_s: int | None
) -> FallbackReason | None:
    """Expired, nobody on duty (at once), or waiting past the priority's fallback time."""
    if status == "expired":
        return FallbackReason.EXPIRED
    if status != "waiting":
        return None
    if clinicians_on_duty == 0:
        return FallbackReason.NO_CLINICIAN_ON_DUTY
    if fallback_after_s is not None and waited_s >= fallback_after_s:
        return FallbackReason.LONG_WAIT
    return None


def fallback_message(reason: FallbackReason, phone: str, *, emergency_number: str) -> str:
    """What the officer reads: the number, and what to do meanwhile (with the board's own
    emergency number)."""
    meanwhile = MEANWHILE.format(emergency=emergency_number)
    return f"{FALLBACK_MESSAGES[reason].format(phone=phone)} {meanwhile}"


def honest_estimate(
    estimate_s: float, *, clinicians_on_duty: int, remaining_s: float
) -> float | None:
    """No estimate with nobody on duty; never longer than the time left before expiry."""
    if clinicians_on_duty == 0:
        return None
    return round(max(0.0, min(estimate_s, remaining_s)), 1)


def alarm_level(
    kind: AlarmKind, *, priority: int | None = None, overdue: bool = False
) -> AlarmLevel:
    """Nobody on duty is always critical; a long wait or expiry when priority 1; an s298 notice
    once overdue."""
    critical = (
        kind is AlarmKind.NO_CLINICIAN_ON_DUTY
        or (kind in (AlarmKind.LONG_WAIT, AlarmKind.EXPIRED) and priority == 1)
        or (kind is AlarmKind.S298_DUE and overdue)
    )
    return AlarmLevel.CRITICAL if critical else AlarmLevel.WARNING


def retry_after_s(attempt: int) -> float:
    """Exponential backoff for the `attempt`-th failed delivery (1-based), capped at a minute,
    so a receiver that is down for ten minutes still gets it within a minute of coming back."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * float(2 ** max(0, attempt - 1)))


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The `X-Triage-Signature` header: `sha256=` and the hex HMAC-SHA256 of the
    `X-Triage-Timestamp` value (Unix seconds), a dot and the raw body, so that a captured
    delivery cannot be replayed later with a fresh timestamp."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
