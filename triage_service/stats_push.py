"""Live statistics: every few seconds, the last 24 hours' `Stats` to supervisors on this instance.

Each instance pushes to its own sockets only, and only while a supervisor is connected to it;
the figures are read from Redis each time, so every instance sends the same truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from .domain import Role
from .live import HUB
from .state import CLOCK, SETTINGS, STORE
from .stats_live import compute_stats
from .stats_window import DAY_MS, Detail, Window

log = logging.getLogger(__name__)
PUSH_INTERVAL_S = 2.0
STATS_ROLES = (Role.SUPERVISOR, Role.ADMIN)


async def stats_message(app: web.Application) -> dict[str, Any]:
    """The `stats` live message: the last 24 hours with the hourly series."""
    now_ms = app[CLOCK]()
    stats = await compute_stats(app[STORE], app[SETTINGS], Window(now_ms - DAY_MS, now_ms),
                                now_ms=now_ms, detail=Detail(series=True))
    return {"type": "stats", "stats": stats.model_dump(mode="json")}


async def push_stats(app: web.Application) -> bool:
    """Send the stats to the supervisors connected here; False when none is."""
    roles = [role for role in STATS_ROLES if app[HUB].has_role(role)]
    if not roles:
        return False
    message = await stats_message(app)
    for role in roles:
        await app[HUB].send_to_role(role, message)
    return True


async def stats_push_ctx(app: web.Application) -> AsyncIterator[None]:
    """Push the stats every `PUSH_INTERVAL_S` for the life of the app."""
    task = asyncio.create_task(_push_forever(app), name="stats-push")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _push_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(PUSH_INTERVAL_S)
        try:
            await push_stats(app)
        except (aioredis.RedisError, OSError) as e:
            log.warning("stats push failed, will retry: %s", e)
