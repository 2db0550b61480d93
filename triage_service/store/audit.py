"""The access log (DPA 2018 s.62): the append-only `audit` stream, read in pages by entry id
and trimmed by age (its retention setting); nothing here edits an entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from triage_service.store.base import Part

Entry = tuple[str, dict[str, str]]


class Audit(Part):
    """Appends to, reads and trims the `audit` stream."""

    async def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append entries (None values stored as empty), in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for fields in entries:
                pipe.xadd(self.keys.audit, {k: "" if v is None else v for k, v in fields.items()})
            await pipe.execute()

    async def read_after(self, start: str, end: str, count: int) -> list[Entry]:
        """Up to `count` entries from `start` (an id, "(id" for after it, or "-") to `end`."""
        found = await self.client.xrange(self.keys.audit, start, end, count=count)
        return cast("list[Entry]", found)

    async def trim_before(self, oldest_ms: int) -> int:
        """Drop entries older than `oldest_ms` (stream ids are milliseconds); how many went."""
        return int(
            await self.client.xtrim(self.keys.audit, minid=str(oldest_ms), approximate=False)
        )
