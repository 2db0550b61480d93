"""Sign-in sessions kept in Redis (server-side, idle and absolute timeouts)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from redis.exceptions import ResponseError

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store.session_index import (
    end_sessions,
    index_session,
    session_exists,
    user_session_tokens,
)
from triage_service.store.store import Store


@dataclass(frozen=True, slots=True)
class SignIn:
    """A live sign-in session."""

    token: str
    csrf_token: str
    user: User


async def open_session(store: Store, settings: Settings, user: User, now_ms: int) -> SignIn:
    """Start a new session with a fresh 128-bit token."""
    sign_in = SignIn(
        token=secrets.token_urlsafe(16), csrf_token=secrets.token_urlsafe(16), user=user
    )
    await store.client.set(
        store.keys.session(sign_in.token),
        json.dumps({**user.as_dict(), "csrf": sign_in.csrf_token, "created_ms": now_ms}),
        ex=settings.session_idle_s,
    )
    await index_session(store, user.id, sign_in.token, lifetime_s=settings.session_absolute_s)
    return sign_in


async def load_session(store: Store, settings: Settings, token: str, now_ms: int) -> SignIn | None:
    """The session for `token`, refreshing its idle timeout; None if absent or too old.

    A JSON string rather than a hash, so that reading and refreshing are one command
    (GETEX): this runs on every request.
    """
    key = store.keys.session(token)
    try:
        raw = await store.client.getex(key, ex=settings.session_idle_s)
    except ResponseError as e:
        if not str(e).startswith("WRONGTYPE"):
            raise
        await store.client.delete(key)  # a hash written by an earlier version: sign in again
        return None
    if raw is None:
        return None
    fields = json.loads(raw)
    if now_ms - int(fields["created_ms"]) > settings.session_absolute_s * 1000:
        await store.client.delete(key)
        return None
    user = User(
        id=fields["id"],
        username=fields["username"],
        display_name=fields["display_name"],
        role=Role(fields["role"]),
    )
    return SignIn(token=token, csrf_token=fields["csrf"], user=user)


async def close_session(store: Store, token: str, user_id: str | None = None) -> None:
    """End a session: its cookie is dead from now on and its sockets close everywhere."""
    await end_sessions(store, user_id, [token])


async def end_user_sessions(store: Store, user_id: str) -> int:
    """End every session of a user (disabled, new role or password); how many there were."""
    tokens = await user_session_tokens(store, user_id)
    await end_sessions(store, user_id, tokens)
    return len(tokens)


async def session_alive(store: Store, settings: Settings, token: str, now_ms: int) -> bool:
    """Whether the session still stands (checked by open sockets; does not refresh it)."""
    raw = await session_exists(store, token)
    if raw is None:
        return False
    try:
        created_ms = int(json.loads(raw)["created_ms"])
    except (ValueError, KeyError, TypeError):
        return False
    return now_ms - created_ms <= settings.session_absolute_s * 1000
