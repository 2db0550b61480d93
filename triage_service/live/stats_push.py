"""Live statistics: every few seconds, the last 24 hours' `Stats` to supervisors on this instance.

Each instance pushes to its own sockets only, and only while a supervisor is connected to it;
the figures are read from Redis each time, so every instance sends the same truth.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from triage_service.domain.codes import STATS_ROLES
from triage_service.domain.times import Clock
from triage_service.domain.users import User
from triage_service.live.hub import Hub
from triage_service.service.boards import board_for
from triage_service.settings import Settings
from triage_service.stats.figures import scope_for
from triage_service.stats.now import compute_stats
from triage_service.stats.window import DAY_MS, Detail, Window
from triage_service.store import STORE_ERRORS, Store

log = logging.getLogger(__name__)
PUSH_INTERVAL_S = 2.0


async def stats_message(
    store: Store, settings: Settings, *, now_ms: int, board: str | None = None
) -> dict[str, Any]:
    """The `stats` live message: the last 24 hours with the hourly series (of one board)."""
    stats = await compute_stats(
        store,
        settings,
        Window(now_ms - DAY_MS, now_ms),
        now_ms=now_ms,
        detail=Detail(series=True),
        scope=scope_for(settings, board),
    )
    return {"type": "stats", "stats": stats.model_dump(mode="json")}


async def push_stats(hub: Hub, store: Store, settings: Settings, *, now_ms: int) -> bool:
    """Send the stats to the supervisors connected here, each the figures they may see (a
    supervisor limited to boards: their first board's, as GET /stats gives them); False
    when none is connected."""
    roles = [role for role in STATS_ROLES if hub.has_role(role)]
    if not roles:
        return False

    def home_board(user: User) -> str | None:
        return board_for(settings.areas, user, None)  # GET /stats's default for `user`

    for board in {home_board(user) for user in hub.users_of(*roles)}:
        message = await stats_message(store, settings, now_ms=now_ms, board=board)

        def sees(user: User, board: str | None = board) -> bool:
            return home_board(user) == board

        for role in roles:
            await hub.send_to_role(role, message, where=sees)
    return True


async def push_forever(hub: Hub, store: Store, settings: Settings, clock: Clock) -> None:
    """Push every `PUSH_INTERVAL_S` until cancelled; a failed push is logged and retried."""
    while True:
        await asyncio.sleep(PUSH_INTERVAL_S)
        try:
            await push_stats(hub, store, settings, now_ms=clock())
        except STORE_ERRORS as e:
            log.warning("stats push failed, will retry: %s", e)
