"""One-shot commands against the store: `triage-service migrate` and `triage-service stats
rebuild`, on the configured Redis (URL, Sentinel) or the embedded one."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

from triage_service.domain.times import wall_clock_ms
from triage_service.domain.words import plural
from triage_service.service.migrations import CURRENT, SchemaError, migrate, rebuild_stats
from triage_service.settings import Settings
from triage_service.store import EmbeddedRedis, Store, StoreError, connect


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The store the service would use (starting the embedded Redis when it would)."""
    embedded = EmbeddedRedis(settings.data_path) if settings.uses_embedded_redis else None
    try:
        url = await embedded.start() if embedded else settings.redis_url
        client = await connect(
            url, sentinels=settings.sentinel_addresses, service=settings.redis_service, attempts=3
        )
        store = Store(
            client,
            settings.key_prefix,
            min_replicas=settings.redis_min_replicas,
            wait_ms=settings.redis_wait_ms,
        )
        try:
            yield store
        finally:
            await store.close()
    finally:
        if embedded is not None:
            await embedded.stop()


async def migrate_command(settings: Settings) -> int:
    """Bring the store's data layout up to this code's version; 0 on success, 2 when the
    store is newer, 1 when Redis fails."""
    try:
        async with open_store(settings) as store:
            applied = await migrate(store, settings, wall_clock_ms)
    except SchemaError as e:
        print(f"triage-service: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"triage-service: {e}", file=sys.stderr)
        return 1
    done = ", ".join(map(str, applied)) if applied else "nothing to do"
    print(f"store at data layout version {CURRENT} (migrated: {done})")
    return 0


async def stats_rebuild_command(settings: Settings) -> int:
    """Rebuild the statistics counters from the records; 0 on success, 1 when Redis fails."""
    try:
        async with open_store(settings) as store:
            counted = await rebuild_stats(store, settings, wall_clock_ms)
    except StoreError as e:
        print(f"triage-service: {e}", file=sys.stderr)
        return 1
    print(f"statistics rebuilt from {plural(counted, 'request')}")
    return 0
