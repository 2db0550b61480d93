"""What an officer's waiting screen is computed from: the fixed facts of a waiting request and
the recent history that one queue broadcast estimates every wait from."""

from __future__ import annotations

from dataclasses import dataclass

from triage_service.domain.rules import estimate_wait_s
from triage_service.domain.safety import FallbackReason, honest_estimate


@dataclass(frozen=True, slots=True)
class Waiting:
    """What never changes about a waiting request."""

    officer_id: str
    created_ms: int
    expire_ms: int
    priority: int


@dataclass(frozen=True, slots=True)
class Estimator:
    """The recent history and staffing one queue broadcast estimates every wait from."""

    waits_s: list[float]
    sessions_s: list[float]
    available: int
    busy: int
    on_duty: int

    def estimate(self, position: int, waiting: Waiting, now_ms: int) -> float | None:
        """The honest estimate for `position`: none with nobody on duty, capped at expiry."""
        estimate = estimate_wait_s(
            position=position,
            recent_waits_s=self.waits_s,
            recent_sessions_s=self.sessions_s,
            clinicians_available=self.available,
            clinicians_busy=self.busy,
        )
        remaining_s = (waiting.expire_ms - now_ms) / 1000 if waiting.expire_ms else estimate
        return honest_estimate(estimate, clinicians_on_duty=self.on_duty, remaining_s=remaining_s)


WaitingState = tuple[int, int, FallbackReason | None]
