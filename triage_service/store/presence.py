"""Clinician presence leases: each operation of `lua/presence.lua` as a typed method (the
script's `op` argument is a `PresenceOp`, its answers typed values)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from triage_service.store.base import Client, Part, Run
from triage_service.store.keys import Keys
from triage_service.store.requests import QueueState


class PresenceOp(StrEnum):
    """The presence script's operations (its ARGV[3])."""

    HOLD = "hold"
    DROP = "drop"
    REAP = "reap"
    CLAIM = "claim"
    ON_DUTY = "on_duty"
    PLACE = "place"


@dataclass(frozen=True, slots=True)
class Staffing:
    """Who could answer a request: on duty (live lease), and available or busy by state."""

    on_duty: int
    available: int
    busy: int
    returning: int  # no socket open, but within their grace period (moving between pages)


@dataclass(frozen=True, slots=True)
class Claim:
    """A grace timer's claim: whether this call claimed it, and the sessions it released."""

    claimed: bool
    released: list[str]


class Presence(Part):
    """Leases, grace timers and who is on duty, one atomic step each."""

    def __init__(self, client: Client, keys: Keys, run: Run) -> None:
        super().__init__(client, keys)
        self._run = run

    async def _op(self, op: PresenceOp, now_ms: int, *args: str | int) -> dict[str, Any]:
        return await self._run("presence", now_ms, op.value, *args)

    async def hold(self, leases: Sequence[tuple[str, str]], *, ttl_ms: int, now_ms: int) -> None:
        """Take or renew `(user id, lease)` leases for `ttl_ms`; cancels any pending grace
        timer of those users."""
        await self._op(PresenceOp.HOLD, now_ms, json.dumps([list(p) for p in leases]), ttl_ms)

    async def drop(self, user_id: str, lease: str, *, grace_ms: int, now_ms: int) -> bool:
        """Drop a lease; True if that left the user without a live lease, so their grace
        timer (`grace_ms`) started."""
        result = await self._op(PresenceOp.DROP, now_ms, user_id, lease, grace_ms)
        return bool(result["grace"])

    async def reap(self, *, grace_ms: int, limit: int, now_ms: int) -> list[str]:
        """Start the grace timer of up to `limit` users whose every lease lapsed; their ids."""
        result = await self._op(PresenceOp.REAP, now_ms, grace_ms, limit)
        return [str(user) for user in result.get("graced") or []]

    async def claim(
        self, user_id: str, *, reason: str, min_remaining_ms: int, now_ms: int
    ) -> Claim:
        """Claim the user's grace timer: release every session of theirs (`reason`) and set
        them offline, unless a lease came back or another instance claimed it."""
        result = await self._op(PresenceOp.CLAIM, now_ms, user_id, reason, min_remaining_ms)
        released = [str(request_id) for request_id in result.get("released") or []]
        return Claim(bool(result["claimed"]), released)

    async def staffing(self, *, board: str, now_ms: int) -> Staffing:
        """The clinicians on duty (with a `board`: those covering it), counted."""
        return _staffing(await self._op(PresenceOp.ON_DUTY, now_ms, board))

    async def place(
        self, request_id: str, *, board: str, now_ms: int
    ) -> tuple[Staffing, int | None, QueueState]:
        """`staffing`, the request's 0-based queue rank (None when it is not waiting) and the
        queue's state, in one step."""
        result = await self._op(PresenceOp.PLACE, now_ms, board, request_id)
        rank = None if result["rank"] is False else int(result["rank"])  # Lua's nil is false
        queue = QueueState(
            [int(v) for v in result["waits"] or []],
            [int(v) for v in result["sessions"] or []],
            [str(v) for v in result["states"] or []],
        )
        return _staffing(result), rank, queue


def _staffing(result: dict[str, Any]) -> Staffing:
    return Staffing(
        int(result["on_duty"]),
        int(result["available"]),
        int(result["busy"]),
        int(result["returning"]),
    )
