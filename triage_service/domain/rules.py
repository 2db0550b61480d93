"""The service's clinical and queueing rules: priority, service order, due times and
the wait estimate. Pure functions, tested without a server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from triage_service.domain.codes import ReferralService, TriageCode, Urgency

URGENCY_PRIORITY: Final[dict[Urgency, int]] = {
    Urgency.IMMEDIATE: 1,
    Urgency.URGENT: 2,
    Urgency.ROUTINE: 3,
}
DBI_CONTACT_HOURS: Final = 24
DEFAULT_RESPONSE_TARGETS_H: Final[dict[str, int]] = {"B": 4, "C": 24, "D": 72, "E": 672}
"""DOMAIN.md's face-to-face targets (hours) per urgency; a deployment sets its own."""


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


def referral_due_at(
    *,
    urgency: str,
    service: ReferralService,
    made_at: datetime,
    response_targets_h: dict[str, int],
) -> datetime:
    """Default due time of a referral: DBI contact within 24 h, else its urgency's target.

    The referral's own urgency sets it (A at once, B to E from the settings), not the
    triage code: a code C person referred with urgency B is due within B's target.
    """
    if service is ReferralService.DBI:
        return made_at + timedelta(hours=DBI_CONTACT_HOURS)
    if urgency == TriageCode.A:
        return made_at
    return made_at + timedelta(hours=response_targets_h[urgency])


def mwc_notice_due(removed_at: datetime, *, days: int) -> datetime:
    """s298: the Mental Welfare Commission must be notified within `days` of removal."""
    return removed_at + timedelta(days=days)


def estimate_wait_s(
    *,
    position: int,
    recent_waits_s: list[float],
    recent_sessions_s: list[float],
    clinicians_available: int,
    clinicians_busy: int,
) -> float:
    """Estimated seconds until a clinician answers the request at `position` (1-based).

    If enough clinicians are free, the median recent time-to-answer. Otherwise the requests
    ahead must wait for sessions to end: each on-duty clinician clears one request per median
    session length, so the wait is roughly the median answer time plus
    ceil((position - available) / on_duty) median session lengths.
    """
    return wait_from_medians(
        position=position,
        answer_s=median_answer_s(recent_waits_s),
        session_s=median_session_s(recent_sessions_s),
        clinicians_available=clinicians_available,
        clinicians_busy=clinicians_busy,
    )


def median_answer_s(recent_waits_s: list[float]) -> float:
    """The median recent time-to-answer (60 s with no history)."""
    return _median(recent_waits_s) if recent_waits_s else 60.0


def median_session_s(recent_sessions_s: list[float]) -> float:
    """The median recent session length (20 minutes with no history)."""
    return _median(recent_sessions_s) if recent_sessions_s else 1200.0


def wait_from_medians(
    *,
    position: int,
    answer_s: float,
    session_s: float,
    clinicians_available: int,
    clinicians_busy: int,
) -> float:
    """`estimate_wait_s` from the medians it takes (a queue broadcast takes them once for
    every waiting request)."""
    if position <= clinicians_available:
        return answer_s
    on_duty = clinicians_available + clinicians_busy
    if on_duty == 0:
        return max(answer_s, 60.0 * position)
    rounds = -(-(position - clinicians_available) // on_duty)
    return answer_s + rounds * session_s


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
