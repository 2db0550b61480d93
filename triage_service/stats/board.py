"""One health board's share of the live figures: its waiting and in-session requests, the
clinicians covering it and its open referrals, counted from the store's live members."""

from __future__ import annotations

from collections.abc import Sequence

from triage_service.domain.teams import request_board
from triage_service.store.stats import LiveMembers, LiveRows, QueueSlice


def live_of_board(
    members: LiveMembers,
    board: str,
    ranges: Sequence[tuple[int, str, int]],
    *,
    limit: int,
    now_ms: int,
    mwc_until_ms: int,
) -> LiveRows:
    """`Stats.live` for one board: queue slices (score range low, high and the score past
    which one is late), sessions, clinicians and open referrals of `board` (a request of no
    board belongs to the default board; a referral to its team's board, else, an s298
    notification having no team, to its request's)."""

    def of_board(rid: str) -> bool:
        return request_board(members.request_boards.get(rid)) == board

    waiting = [(rid, score) for rid, score in members.queue if of_board(rid)]
    slices = []
    for low, high, late in ranges:
        top = float(high.lstrip("(")) if high.startswith("(") else float(high)
        rows = [(rid, score) for rid, score in waiting if low <= score < top]
        late_rows = [(rid, score) for rid, score in rows if score <= late]
        slices.append(QueueSlice(len(rows), rows[:1], len(late_rows), late_rows[:limit]))
    mine = {
        rid
        for rid, _, team, request_id in members.referrals
        if (team.split(":")[-1] == board if team else of_board(request_id or ""))
    }
    open_rows = [(rid, due) for rid, due, _, _ in members.referrals if rid in mine]
    mwc_rows = [(rid, due) for rid, due in members.notices if rid in mine]
    return LiveRows(
        slices,
        sum(of_board(rid) for rid in members.active),
        [
            state
            for state, covered in members.clinicians
            if not covered or board in covered.split(",")
        ],
        len(open_rows),
        sum(due < now_ms for _, due in open_rows),
        len(mwc_rows),
        sum(due < now_ms for _, due in mwc_rows),
        [(rid, due) for rid, due in mwc_rows if due <= mwc_until_ms][:limit],
    )
