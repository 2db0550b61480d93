"""Timers: the `due` sorted set of members `{kind}:{target}` scored by due time."""

from __future__ import annotations

from triage_service.store.base import Part, texts


class Timers(Part):
    """Reads and drops due timers (the lifecycle scripts and presence set them)."""

    async def due(self, now_ms: int, count: int) -> list[str]:
        """The first `count` timers due by `now_ms`, soonest first."""
        found = await self.client.zrangebyscore(self.keys.due, "-inf", now_ms, start=0, num=count)
        return texts(found)

    async def drop(self, member: str) -> bool:
        """Remove a timer; False if it was already gone."""
        return bool(await self.client.zrem(self.keys.due, member))
