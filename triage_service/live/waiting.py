"""What an officer's waiting screen is computed from: the fixed facts of a waiting request and
the recent history that one queue broadcast estimates every wait from."""

from __future__ import annotations

from dataclasses import dataclass, field

from triage_service.domain.codes import Role
from triage_service.domain.routing import covers_board, offer_board, offered_to
from triage_service.domain.rules import median_answer_s, median_session_s, wait_from_medians
from triage_service.domain.safety import FallbackReason, honest_estimate
from triage_service.domain.users import User


@dataclass(frozen=True, slots=True)
class Waiting:
    """What does not change about a waiting request (but its overflow time, moved to now
    when nobody covering its board is on duty: read again after an `overflowed` wake-up)."""

    officer_id: str
    created_ms: int
    expire_ms: int
    priority: int
    board: str = ""
    overflow_ms: int = 0

    def offered_board(self, now_ms: int) -> str:
        """The board it is offered within now; empty once it is offered to everyone."""
        return offer_board(self.board, overflow_ms=self.overflow_ms, now_ms=now_ms)

    def seen_by(self, user: User, now_ms: int) -> bool:
        """Whether it is in this clinician's queue now, or of a board this supervisor covers."""
        if user.role is Role.CLINICIAN:
            return offered_to(
                user.boards, board=self.board, overflow_ms=self.overflow_ms, now_ms=now_ms
            )
        return covers_board(user.boards, self.board)


@dataclass(frozen=True, slots=True)
class Estimator:
    """The recent history and staffing one queue broadcast estimates every wait from."""

    waits_s: list[float]
    sessions_s: list[float]
    available: int
    busy: int
    on_duty: int
    # The history's medians, taken once for every waiting request (`estimate_wait_s`'s).
    answer_s: float = field(init=False)
    session_s: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answer_s", median_answer_s(self.waits_s))
        object.__setattr__(self, "session_s", median_session_s(self.sessions_s))

    def estimate(self, position: int, waiting: Waiting, now_ms: int) -> float | None:
        """The honest estimate for `position`: none with nobody on duty, capped at expiry
        (as `records.waiting_place` reads it for one request, through `estimate_wait_s`)."""
        estimate = wait_from_medians(
            position=position,
            answer_s=self.answer_s,
            session_s=self.session_s,
            clinicians_available=self.available,
            clinicians_busy=self.busy,
        )
        remaining_s = (waiting.expire_ms - now_ms) / 1000 if waiting.expire_ms else estimate
        return honest_estimate(
            round(estimate, 1), clinicians_on_duty=self.on_duty, remaining_s=remaining_s
        )


WaitingState = tuple[int, int, FallbackReason | None]
