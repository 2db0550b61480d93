"""The `audit` stream: appended to, read in pages by entry id, trimmed by age."""

from __future__ import annotations

from typing import Any

from triage_service.store.store import Store

Entry = tuple[str, dict[str, str]]


async def append(store: Store, entries: list[dict[str, Any]]) -> None:
    """Append entries to the audit stream (one round trip)."""
    async with store.client.pipeline(transaction=False) as pipe:
        for fields in entries:
            pipe.xadd(store.keys("audit"), {k: "" if v is None else v for k, v in fields.items()})
        await pipe.execute()


async def read_after(store: Store, start: str, end: str, count: int) -> list[Entry]:
    """Up to `count` entries from `start` (an id, "(id" for after it, or "-") to `end`."""
    entries: list[Entry] = await store.client.xrange(store.keys("audit"), start, end, count=count)
    return entries


async def trim_before(store: Store, oldest_ms: int) -> int:
    """Drop entries older than `oldest_ms` (stream ids are milliseconds); how many went."""
    return int(
        await store.client.xtrim(store.keys("audit"), minid=str(oldest_ms), approximate=False)
    )
