"""Sign-in sessions (one JSON string each) and the sign-in failure counters."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import ResponseError

from triage_service.store.base import Part, maybe_text


class Sessions(Part):
    """Sessions by token, with their idle timeout, and the failure counters."""

    async def save(self, token: str, session_json: str, *, idle_s: int) -> None:
        """Store a new session that lapses after `idle_s` unused."""
        await self.client.set(self.keys.session(token), session_json, ex=idle_s)

    async def touch(self, token: str, *, idle_s: int) -> str | None:
        """The session's JSON, its idle timeout restarted, in one command (GETEX); None if
        absent. A hash written by an earlier version is deleted (sign in again); any other
        Redis error is raised."""
        key = self.keys.session(token)
        try:
            return maybe_text(await self.client.getex(key, ex=idle_s))
        except ResponseError as e:
            if not str(e).startswith("WRONGTYPE"):
                raise
            await self.client.delete(key)
            return None

    async def delete(self, token: str) -> None:
        """End a session."""
        await self.client.delete(self.keys.session(token))

    def failure_keys(self, username: str, address: str) -> tuple[str, str]:
        """The failure counters of a username (any case) and a (hashed) address."""
        return self.keys.login_fail_user(username.lower()), self.keys.login_fail_addr(address)

    async def failures(self, key: str) -> int:
        """The failures counted in `key` (0 when none)."""
        count = maybe_text(await self.client.get(key))
        return int(count) if count else 0

    async def seconds_left(self, key: str) -> int:
        """Seconds until the failure counter `key` lapses (negative when it has none)."""
        return int(await self.client.ttl(key))

    async def count_failure(self, keys: Sequence[str], *, window_s: int) -> None:
        """Count one failure in each counter; a counter lapses `window_s` after its first."""
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, window_s, nx=True)
            await pipe.execute()
