"""Maintenance for tools and tests: deleting every key under a prefix (a test's, a benchmark
run's or a stats store's)."""

from __future__ import annotations

import redis.asyncio as aioredis

BATCH = 1000


async def delete_prefix(client: aioredis.Redis, prefix: str) -> int:
    """Delete every key whose name starts with `prefix`; return how many there were."""
    batch: list[str] = []
    deleted = 0
    async for key in client.scan_iter(match=prefix + "*", count=BATCH):
        batch.append(key)
        if len(batch) >= BATCH:
            deleted += await client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await client.unlink(*batch)
    return deleted
