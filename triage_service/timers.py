"""Timers kept in Redis (a sorted set of due times), swept by whichever instance is first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web

from .lifecycle import expire_request
from .presence import grace_expired
from .retention import purge_due
from .state import CLOCK, SETTINGS, STORE
from .store import Store
from .tasks import stop_task

log = logging.getLogger(__name__)
BATCH = 100


async def sweep_due(store: Store, now_ms: int) -> int:
    """Fire every timer due by `now_ms`; return how many changed something."""
    due = await store.client.zrangebyscore(store.keys("due"), "-inf", now_ms, start=0, num=BATCH)
    fired = 0
    for member in due:
        kind, _, target = member.partition(":")
        if kind == "expire":
            fired += await expire_request(store, target, now_ms=now_ms)
        elif kind == "grace":
            fired += await grace_expired(store, target, now_ms=now_ms)
        else:
            log.warning("dropping unknown timer %r", member)
            await store.client.zrem(store.keys("due"), member)
    return fired


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Sweep due timers every `sweep_interval_s` for the life of the app."""
    task = asyncio.create_task(_sweep_forever(app), name="timer-sweeper")
    yield
    await stop_task(task)


async def _sweep_forever(app: web.Application) -> None:
    settings = app[SETTINGS]
    while True:
        try:
            await sweep_due(app[STORE], app[CLOCK]())
            if settings.retention_days:
                await purge_due(app[STORE], retention_days=settings.retention_days,
                                now_ms=app[CLOCK]())
        except (aioredis.RedisError, OSError) as e:
            log.warning("timer sweep failed, will retry: %s", e)
        await asyncio.sleep(settings.sweep_interval_s)
