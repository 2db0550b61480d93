"""Statistics reads: the window script (lua/stats.lua) and the live structures, each one
round trip."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.commands.core import AsyncScript

from triage_service.store.base import Client, Part, scored, texts
from triage_service.store.keys import Keys
from triage_service.store.maintenance import delete_prefix

HOUR_MS = 3_600_000
PAGE = 1000


@dataclass(frozen=True, slots=True)
class QueueSlice:
    """One score range of the queue: its size and first member, and how many (and which,
    up to the limit) are past a score."""

    waiting: int
    first: list[tuple[str, float]]
    late: int
    late_rows: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class LiveRows:
    """The live structures as read in one round trip."""

    slices: list[QueueSlice]
    in_session: int
    states: list[str]
    referrals_open: int
    referrals_overdue: int
    mwc_open: int
    mwc_overdue: int
    mwc_due_soon: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class LiveMembers:
    """Every live member as stored, unfiltered: the queue (id, score) in service order, the
    requests in session, the health board of each of those requests (and of the request of
    each referral without a team; None: no board), each clinician's availability with the
    boards they cover (comma-separated; '' covers every board), the open referrals (id, due
    ms, team, request id) and the open s298 notifications (id, due ms)."""

    queue: list[tuple[str, float]]
    active: list[str]
    request_boards: dict[str, str | None]
    clinicians: list[tuple[str, str]]
    referrals: list[tuple[str, float, str | None, str | None]]
    notices: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class Gauges:
    """Queue length, requests in session and every clinician's availability."""

    waiting: int
    in_session: int
    states: list[str]


class Stats(Part):
    """The statistics reads."""

    def __init__(self, client: Client, keys: Keys, window_script: AsyncScript) -> None:
        super().__init__(client, keys)
        self.window_script = window_script

    async def window(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run lua/stats.lua over `spec` (stats/figures.py says what it holds)."""
        raw = await self.window_script(args=[self.keys.prefix, 0, json.dumps(spec)])
        result: dict[str, Any] = json.loads(raw)
        return result

    async def live(
        self,
        ranges: Sequence[tuple[int, str, int]],
        *,
        limit: int,
        now_ms: int,
        mwc_until_ms: int,
    ) -> LiveRows:
        """Queue slices (score range low, high and the score past which one is late), the
        sessions, clinicians and open referrals, in one pipeline."""
        keys = self.keys
        async with self.client.pipeline(transaction=False) as pipe:
            for low, high, late in ranges:
                pipe.zcount(keys.queue, low, high)
                pipe.zrangebyscore(keys.queue, low, high, start=0, num=1, withscores=True)
                pipe.zcount(keys.queue, low, late)
                pipe.zrangebyscore(keys.queue, low, late, start=0, num=limit, withscores=True)
            pipe.scard(keys.active)
            pipe.hvals(keys.clin_state)
            pipe.zcard(keys.referrals_open)
            pipe.zcount(keys.referrals_open, "-inf", f"({now_ms}")
            pipe.zcard(keys.referrals_mwc)
            pipe.zcount(keys.referrals_mwc, "-inf", f"({now_ms}")
            pipe.zrangebyscore(
                keys.referrals_mwc, "-inf", mwc_until_ms, start=0, num=limit, withscores=True
            )
            rows = await pipe.execute()
        slices = [
            QueueSlice(int(n), scored(first), int(late), scored(late_rows))
            for n, first, late, late_rows in _fours(rows[: 4 * len(ranges)])
        ]
        in_session, states, r_open, r_overdue, m_open, m_overdue, soon = rows[4 * len(ranges) :]
        return LiveRows(
            slices,
            int(in_session),
            texts(states),
            int(r_open),
            int(r_overdue),
            int(m_open),
            int(m_overdue),
            scored(soon),
        )

    async def live_members(self) -> LiveMembers:
        """Every live member with what places it in a health board, in three round trips
        (its cost follows what is live now): stats/board.py counts one board's share."""
        keys = self.keys
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(keys.queue, 0, -1, withscores=True)
            pipe.smembers(keys.active)
            pipe.hgetall(keys.clin_state)
            pipe.zrange(keys.referrals_open, 0, -1, withscores=True)
            pipe.zrange(keys.referrals_mwc, 0, -1, withscores=True)
            queue, active, states, referrals, notices = await pipe.execute()
        requests = [rid for rid, _ in queue] + list(active)
        async with self.client.pipeline(transaction=False) as pipe:
            for rid in requests:
                pipe.hget(keys.request(rid), "board")
            for clinician in states:
                pipe.hget(keys.user(clinician), "boards")
            for rid, _ in referrals:
                pipe.hmget(keys.referral(rid), "team", "request_id")
            found = await pipe.execute()
        boards = dict(zip(requests, found[: len(requests)], strict=True))
        covers = found[len(requests) : len(requests) + len(states)]
        teams = found[len(requests) + len(states) :]
        unknown = [request_id or "" for team, request_id in teams if not team]
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in unknown:
                pipe.hget(keys.request(request_id), "board")
            boards.update(zip(unknown, await pipe.execute(), strict=True))
        return LiveMembers(
            queue=scored(queue),
            active=texts(list(active)),
            request_boards={rid: board or None for rid, board in boards.items()},
            clinicians=[
                (state, covered or "")
                for state, covered in zip(texts(list(states.values())), covers, strict=True)
            ],
            referrals=[
                (rid, due, team or None, request_id or None)
                for (rid, due), (team, request_id) in zip(scored(referrals), teams, strict=True)
            ],
            notices=scored(notices),
        )

    async def gauges(self) -> Gauges:
        """The queue's length, sessions and clinicians' states, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.queue)
            pipe.scard(self.keys.active)
            pipe.hvals(self.keys.clin_state)
            waiting, in_session, states = await pipe.execute()
        return Gauges(int(waiting), int(in_session), texts(states))

    async def hours(self) -> list[int]:
        """Every hour (created_ms // 3600000) holding requests or statistics counters."""
        found = {int(h) for h in texts(await self.client.smembers(self.keys.stats_hours))}
        start = 0
        while page := await self.client.zrange(
            self.keys.reqs_created, start, start + PAGE - 1, withscores=True
        ):
            found.update(int(score) // HOUR_MS for _member, score in scored(page))
            start += PAGE
        return sorted(found)

    async def delete_counters(self) -> int:
        """Delete every statistics counter and bin (before a rebuild); how many keys."""
        return await delete_prefix(self.client, self.keys.stats(""))


def _fours(rows: list[Any]) -> list[tuple[Any, Any, Any, Any]]:
    return [(rows[i], rows[i + 1], rows[i + 2], rows[i + 3]) for i in range(0, len(rows), 4)]
