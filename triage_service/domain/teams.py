"""Receiving teams: a referral goes to the team of its service in the request's health board.

A team is named `service:board` (`crisis_team:lothian`). The board of a request is looked up
in one place, `request_board`, so that an area directory (boards and their areas) changes only
that function.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import ReferralService

DEFAULT_BOARD: Final = "default"
SERVICE_NAMES: Final = {
    "crisis_team": "Crisis team",
    "cmht": "Community mental health team",
    "gp": "GP",
    "dbi": "Distress Brief Intervention",
    "liaison_psychiatry": "Liaison psychiatry",
    "camhs": "CAMHS",
    "other": "Other",
}


def request_board(board: str | None) -> str:
    """The health board of a request: its `board` when it has one, else the default."""
    return board or DEFAULT_BOARD


def team_of(service: str, board: str) -> str:
    """The team that receives referrals to `service` made in `board`."""
    return f"{service}:{board}"


def parse_team(text: str, boards: Iterable[str] | None = None) -> str:
    """`service:board` checked against the referral services and, when given, the health
    boards of the area directory; ValueError naming the problem otherwise."""
    service, sep, board = text.strip().partition(":")
    if not sep or not service or not board:
        raise ValueError(
            f"team must look like SERVICE:BOARD (e.g. crisis_team:default), not {text!r}"
        )
    if service not in {s.value for s in ReferralService}:
        choices = ", ".join(s.value for s in ReferralService)
        raise ValueError(f"unknown service {service!r} in team (one of {choices})")
    if boards is not None and board not in set(boards):
        allowed = ", ".join(sorted(boards))
        raise ValueError(f"unknown board {board!r} in team (one of {allowed})")
    return team_of(service, board)


def team_name(team: str, directory: AreaDirectory) -> str:
    """What people call a team (`crisis_team:glasgow`): the name the areas file gives it,
    else its service and its board's name ("Crisis team, NHS Greater Glasgow and Clyde")."""
    service, _, board_id = team.partition(":")
    board = directory.board(board_id)
    named = board.team(service) if board else None
    if named and named.name:
        return named.name
    words = SERVICE_NAMES.get(service, service.replace("_", " "))
    return f"{words}, {board.name}" if board else words
