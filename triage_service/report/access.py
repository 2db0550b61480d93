"""Who may read which board's report, and the month asked for, checked before any figure is
read: a supervisor (or admin) covering the board; 422 naming `board` or `month`."""

from __future__ import annotations

from dataclasses import dataclass

from triage_service.domain.areas import AreaDirectory, Board
from triage_service.domain.errors import Invalid
from triage_service.domain.users import User
from triage_service.report.month import Month, parse_month
from triage_service.service.boards import board_for


@dataclass(frozen=True, slots=True)
class ReportAsked:
    """A board the reader covers and a well-formed month."""

    board: Board
    month: Month


def report_asked(areas: AreaDirectory, user: User, board_id: str, month: str) -> ReportAsked:
    """The board and month of a report request, as `GET /stats` checks a board: 422
    `unknown_board` for a board not in the directory, 403 `forbidden_board` for one the
    reader does not cover, 422 naming `month` for a malformed month."""
    chosen = board_for(areas, user, board_id)
    board = areas.board(chosen or "")
    if board is None:  # board_for returned the board asked for, which exists
        raise Invalid("unknown_board", "Choose a health board.", {"board": "required"})
    return ReportAsked(board, parse_month(month))
