"""One board's live figures are counted in stats/ (stats/board.py) from the store's
unfiltered live members: the store reads, stats/ decides what belongs to a board."""

from __future__ import annotations

from pathlib import Path

from triage_service.stats.board import live_of_board
from triage_service.store.stats import LiveMembers

PACKAGE = Path(__file__).resolve().parent.parent / "triage_service"
P1 = 10**13  # priority 1's score base (domain.queue_score)


def test_the_store_filters_nothing_by_board() -> None:
    """store/stats.py knows no default board and no board matching: that rule is stats/'s."""
    text = (PACKAGE / "store" / "stats.py").read_text()
    assert "DEFAULT_BOARD" not in text and "of_board" not in text


def test_a_boards_share_of_the_live_members() -> None:
    """Hand-built members: Lothian's waiting request (late), its session, the clinicians
    covering it (or every board), its team's referral and the s298 notice of its request
    (no team) count; Glasgow's do not; a request of no board is the default board's."""
    members = LiveMembers(
        queue=[("w1", P1 + 1_000), ("w2", P1 + 2_000), ("w3", P1 + 3_000)],
        active=["s1", "s2"],
        request_boards={"w1": "lothian", "w2": "glasgow", "w3": None, "s1": "lothian"},
        clinicians=[("available", "lothian"), ("busy", ""), ("available", "glasgow")],
        referrals=[
            ("r1", 50.0, "crisis_team:lothian", "s1"),
            ("r2", 500.0, "crisis_team:glasgow", "w2"),
            ("n1", 80.0, None, "w1"),
        ],
        notices=[("n1", 80.0)],
    )
    ranges = [(P1, f"({2 * P1}", P1 + 1_500)]
    rows = live_of_board(members, "lothian", ranges, limit=5, now_ms=100, mwc_until_ms=90)
    (queue,) = rows.slices
    assert (queue.waiting, queue.first, queue.late) == (1, [("w1", P1 + 1_000)], 1)
    assert rows.in_session == 1 and rows.states == ["available", "busy"]
    assert (rows.referrals_open, rows.referrals_overdue) == (2, 2)
    assert (rows.mwc_open, rows.mwc_overdue, rows.mwc_due_soon) == (1, 1, [("n1", 80.0)])
    default = live_of_board(members, "default", ranges, limit=5, now_ms=100, mwc_until_ms=90)
    assert default.slices[0].first == [("w3", P1 + 3_000)] and default.in_session == 1
