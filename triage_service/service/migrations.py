"""Data layout versions: start-up refuses a store newer than this code and brings an older
one up to date, one migration per version, run by exactly one instance at a time."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from triage_service.domain.times import Clock
from triage_service.settings import Settings
from triage_service.store import Store

log = logging.getLogger(__name__)
LOCK_TTL_MS = 600_000
REINDEX_BATCH = 500
POLL_S = 0.2
WAIT_FOR_OTHERS_S = 600.0

Migration = Callable[[Store, Settings, Clock], Awaitable[int]]


class SchemaError(RuntimeError):
    """The store's data layout cannot be used by this code (newer, or stuck migrating)."""


async def rebuild_stats(store: Store, settings: Settings, clock: Clock) -> int:
    """Rebuild the statistics counters from the records, one hour at a time (each atomic, so
    live traffic may go on); how many requests were counted."""
    counted = 0
    for hour in await store.stats.hours():
        done = await store.run("stats_rebuild", clock(), hour, settings.short_abandon_s * 1000)
        counted += int(done["requests"])
    return counted


async def count_per_board(store: Store, settings: Settings, clock: Clock) -> int:
    """Index the open referrals by their request's board (a board's referrals not yet due),
    give the alarms the area and board of their request, and rebuild the counters (feedback
    per board and consent were not counted before)."""
    await store.referrals.index_open_by_board()
    await store.alarms.place_unplaced()
    return await rebuild_stats(store, settings, clock)


async def index_referrals_due(store: Store, settings: Settings, clock: Clock) -> int:
    """Index the open referrals by due time in each piece of time holding their request's
    creation (`referrals:due:...`), so a window's referrals not yet due are counted without
    reading each one; a batch at a time, each atomic; how many were moved."""
    moved = 0
    while True:
        done = await store.run("referrals_due_index", clock(), REINDEX_BATCH)
        moved += int(done["moved"])
        if not int(done["left"]):
            break
    await store.referrals.drop_open_created()
    return moved


# Version -> what the migration to it does, and the migration.
MIGRATIONS: dict[int, tuple[str, Migration]] = {
    1: ("statistics counters rebuilt from the records", rebuild_stats),
    2: (
        "open referrals indexed by board; counters rebuilt (feedback per board, consent)",
        count_per_board,
    ),
    3: ("open referrals indexed by due time per piece of creation time", index_referrals_due),
    4: ("each hour's waits indexed by value (the hourly series); counters rebuilt", rebuild_stats),
}
CURRENT = max(MIGRATIONS)


async def ensure_schema(store: Store, settings: Settings, clock: Clock) -> list[int]:
    """At start-up: refuse a newer store, stamp a new one, migrate an older one; the
    versions migrated to here."""
    version = await store.schema.version()
    _refuse_newer(version)
    if version == CURRENT:
        return []
    if version == 0 and await store.schema.is_empty():
        await store.schema.set_version(CURRENT)
        return []
    return await migrate(store, settings, clock)


async def migrate(
    store: Store, settings: Settings, clock: Clock, *, wait_s: float = WAIT_FOR_OTHERS_S
) -> list[int]:
    """Run every migration the store lacks under the migration lock (another instance
    migrating is waited for); the versions migrated to here."""
    token, deadline = secrets.token_hex(8), time.monotonic() + wait_s
    while not await store.schema.lock(token, LOCK_TTL_MS):
        if await store.schema.version() >= CURRENT:
            return []
        if time.monotonic() > deadline:
            raise SchemaError(f"another instance has held the migration lock over {wait_s:.0f} s")
        await asyncio.sleep(POLL_S)
    try:
        version = await store.schema.version()
        _refuse_newer(version)
        applied = []
        for target in range(version + 1, CURRENT + 1):
            what, step = MIGRATIONS[target]
            log.info("migrating the store to version %d: %s", target, what)
            await step(store, settings, clock)
            await store.schema.set_version(target)
            await store.schema.lock(token, LOCK_TTL_MS)
            applied.append(target)
        return applied
    finally:
        await store.schema.unlock(token)


def _refuse_newer(version: int) -> None:
    if version > CURRENT:
        raise SchemaError(
            f"the store has data layout version {version}, newer than this code's {CURRENT}:"
            " run the newer release (or restore a backup)"
        )
