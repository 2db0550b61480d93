"""Sign-in sessions (one JSON string each), indexed by user so that all of a user's sessions
can be ended at once, and the `session_ended` wake-up that closes their sockets everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import ResponseError, WatchError

from triage_service.store.base import Client, Part, lua_source, maybe_text, texts
from triage_service.store.keys import Keys
from triage_service.store.wakes import SessionEndedWake

# A use restarts a session's idle timeout once it has run down by this much (or by a tenth of
# it, if less): most requests then write nothing, and a session lapses at most this long
# before its idle timeout unused.
REFRESH_AFTER_MS = 60_000


class Sessions(Part):
    """Sessions by token, with their idle timeout, and each user's set of tokens."""

    def __init__(self, client: Client, keys: Keys) -> None:
        super().__init__(client, keys)
        self._touch = client.register_script(lua_source("session_touch"))

    async def save(
        self, token: str, session_json: str, *, user_id: str, idle_s: int, lifetime_s: int
    ) -> None:
        """Store a new session that lapses after `idle_s` unused, indexed under its user for
        as long as it can live (MULTI)."""
        index = self.keys.user_sessions(user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.session(token), session_json, ex=idle_s)
            pipe.sadd(index, token)
            pipe.expire(index, lifetime_s)
            await pipe.execute()

    async def touch(self, token: str, *, idle_s: int) -> str | None:
        """The session's JSON, its idle timeout restarted once it has run down by
        `REFRESH_AFTER_MS` (lua/session_touch.lua), in one round trip; None if absent. A hash
        written by an earlier version is deleted (sign in again); any other Redis error is
        raised."""
        key = self.keys.session(token)
        idle_ms = idle_s * 1000
        try:
            return maybe_text(
                await self._touch(keys=[key], args=[idle_ms, min(REFRESH_AFTER_MS, idle_ms // 10)])
            )
        except ResponseError as e:
            if not str(e).startswith("WRONGTYPE"):
                raise
            await self.client.delete(key)
            return None

    async def peek(self, token: str) -> str | None:
        """The session's JSON without refreshing its idle timeout (None if it is gone or was
        written by an earlier version)."""
        try:
            return maybe_text(await self.client.get(self.keys.session(token)))
        except ResponseError as e:
            if not str(e).startswith("WRONGTYPE"):
                raise
            return None

    async def tokens_of(self, user_id: str) -> list[str]:
        """The tokens of the user's sessions (some may have lapsed already)."""
        return sorted(texts(await self.client.smembers(self.keys.user_sessions(user_id))))

    async def end(self, user_id: str | None, tokens: Sequence[str]) -> None:
        """Delete these sessions, unindex them and wake every instance to close their
        sockets (MULTI)."""
        if not tokens:
            return
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(*(self.keys.session(token) for token in tokens))
            if user_id:
                pipe.srem(self.keys.user_sessions(user_id), *tokens)
            pipe.publish(self.keys.wake, SessionEndedWake(tuple(tokens)).to_json())
            await pipe.execute()

    async def describe(self, tokens: Sequence[str]) -> list[tuple[str, str | None, int]]:
        """`(token, JSON or None, milliseconds until it idles out)` of each session, without
        refreshing any (one round trip)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.get(self.keys.session(token))
                pipe.pttl(self.keys.session(token))
            found = await pipe.execute(raise_on_error=False)
        return [
            (token, raw if isinstance(raw, str) else None, ttl if isinstance(ttl, int) else -2)
            for token, raw, ttl in zip(tokens, found[::2], found[1::2], strict=True)
        ]

    async def replace_password(self, user_id: str, password_hash: str, *, keep: str) -> int:
        """Give the account a new password hash and end every session of the user but
        `keep`, in one MULTI (retried if a sign-in adds a session meanwhile); how many ended."""
        index = self.keys.user_sessions(user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(index)
                    tokens = [t for t in texts(await pipe.smembers(index)) if t != keep]
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(self.keys.user(user_id), "password_hash", password_hash)
                    if tokens:
                        pipe.delete(*(self.keys.session(token) for token in tokens))
                        pipe.srem(index, *tokens)
                        pipe.publish(self.keys.wake, SessionEndedWake(tuple(tokens)).to_json())
                    await pipe.execute()
                    return len(tokens)
                except WatchError:
                    continue
