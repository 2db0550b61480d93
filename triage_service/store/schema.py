"""The version of the data layout, and the lock held by the one instance migrating it."""

from __future__ import annotations

from triage_service.store.base import Part, maybe_text


class Schema(Part):
    """The `schema` version (0: a store from before versions were kept) and its lock."""

    async def version(self) -> int:
        """The store's data layout version; 0 when it has none yet."""
        return int(maybe_text(await self.client.get(self.keys.schema)) or 0)

    async def set_version(self, version: int) -> None:
        """Record that the store now has data layout `version`."""
        await self.client.set(self.keys.schema, version)

    async def is_empty(self) -> bool:
        """Whether the store holds no request and no account (a new deployment)."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.reqs_created)
            pipe.hlen(self.keys.users)
            requests, users = await pipe.execute()
        return not int(requests) and not int(users)

    async def lock(self, token: str, ttl_ms: int) -> bool:
        """Take the migration lock for `ttl_ms` (or renew it, holding it); whether it is ours."""
        if await self.client.set(self.keys.schema_lock, token, nx=True, px=ttl_ms):
            return True
        if maybe_text(await self.client.get(self.keys.schema_lock)) == token:
            await self.client.pexpire(self.keys.schema_lock, ttl_ms)
            return True
        return False

    async def unlock(self, token: str) -> None:
        """Give the migration lock back if it is still ours."""
        if maybe_text(await self.client.get(self.keys.schema_lock)) == token:
            await self.client.delete(self.keys.schema_lock)
