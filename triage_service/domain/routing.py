"""Routing by health board with overflow: who a waiting request is offered to, and when.

A request is offered first to the clinicians covering its board; from its overflow time on,
to every clinician. `store/lua/_accept.lua` (`offered`) applies the same rule atomically at
accept and queue/next; the views and the live channel use `offered_to`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from triage_service.domain.teams import DEFAULT_BOARD


def overflow_at_ms(priority: int, created_ms: int, overflow_after_s: Mapping[int, int]) -> int:
    """When a request of `priority` created at `created_ms` is offered to every clinician
    (at once for a priority without a setting)."""
    return created_ms + overflow_after_s.get(priority, 0) * 1000


def offered_to(
    clinician_boards: Sequence[str], *, board: str, overflow_ms: int, now_ms: int
) -> bool:
    """Whether a request of `board` is offered now to a clinician covering
    `clinician_boards` (empty: every board). A request with no board, or past its overflow
    time, is offered to everyone."""
    return not clinician_boards or not board or board in clinician_boards or now_ms >= overflow_ms


def covers_board(user_boards: Sequence[str], board: str | None) -> bool:
    """Whether someone covering `user_boards` (empty: every board) may see a record of
    `board` (a record of no board belongs to the default board)."""
    return not user_boards or (board or DEFAULT_BOARD) in user_boards


def offer_board(board: str, *, overflow_ms: int, now_ms: int) -> str:
    """The board a request is offered within now; empty once it is offered to everyone."""
    return "" if now_ms >= overflow_ms else board


def parse_boards(raw: str | None, known: Sequence[str]) -> tuple[str, ...]:
    """`B1,B2` as board ids (empty: all boards); ValueError naming an unknown one."""
    boards = tuple(dict.fromkeys(b.strip() for b in (raw or "").split(",") if b.strip()))
    unknown = [b for b in boards if b not in known]
    if unknown:
        raise ValueError(f"unknown board {unknown[0]!r} (boards: {', '.join(known)})")
    return boards
