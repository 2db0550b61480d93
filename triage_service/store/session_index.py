"""The sign-in sessions of each user, indexed so that they can all be ended at once, and the
`session_ended` wake-up that closes their sockets on every instance."""

from __future__ import annotations

import json

from redis.exceptions import ResponseError

from triage_service.store.store import Store


async def index_session(store: Store, user_id: str, token: str, *, lifetime_s: int) -> None:
    """Remember that `token` is one of the user's sessions (for as long as it can live)."""
    key = store.keys.user_sessions(user_id)
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.sadd(key, token)
        pipe.expire(key, lifetime_s)
        await pipe.execute()


async def user_session_tokens(store: Store, user_id: str) -> list[str]:
    """The tokens of the user's sessions (some may have expired already)."""
    return sorted(await store.client.smembers(store.keys.user_sessions(user_id)))


async def end_sessions(store: Store, user_id: str | None, tokens: list[str]) -> None:
    """Delete these sessions, unindex them, and wake every instance to close their sockets."""
    if not tokens:
        return
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.delete(*(store.keys.session(token) for token in tokens))
        if user_id:
            pipe.srem(store.keys.user_sessions(user_id), *tokens)
        pipe.publish(store.keys("wake"), json.dumps({"type": "session_ended", "tokens": tokens}))
        await pipe.execute()


async def session_exists(store: Store, token: str) -> str | None:
    """The stored session JSON, without refreshing its idle timeout (None if it is gone)."""
    try:
        raw: str | None = await store.client.get(store.keys.session(token))
    except ResponseError as e:
        if not str(e).startswith("WRONGTYPE"):
            raise
        return None  # a session of an earlier version: it no longer counts
    return raw
