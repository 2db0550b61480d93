"""Which health board's figures a reader asks for, and whether they may see it."""

from __future__ import annotations

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.errors import Forbidden, Invalid
from triage_service.domain.users import User


def boards_for_export(
    areas: AreaDirectory, user: User, requested: str | None
) -> tuple[str, ...] | None:
    """The boards whose requests `user` exports (None: every request of the service): the
    one asked for (422 unknown, 403 not covered, as `board_for`), else all of theirs."""
    if requested is None:
        return user.boards or None
    board = board_for(areas, user, requested)
    return (board,) if board else None


def board_for(areas: AreaDirectory, user: User, requested: str | None) -> str | None:
    """The board whose figures `user` reads (None: the whole service).

    A board not in the directory is 422 naming `board`; a supervisor limited to boards reads
    their first board by default and gets 403 `forbidden_board` for a board they do not
    cover.
    """
    if requested is not None and areas.board(requested) is None:
        raise Invalid(
            "unknown_board",
            f"There is no health board {requested!r}.",
            {"board": "not a board of this service"},
        )
    if not user.boards:
        return requested
    if requested is None:
        return user.boards[0]
    if requested not in user.boards:
        raise Forbidden("forbidden_board", "You may see only the boards you cover.")
    return requested
