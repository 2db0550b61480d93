"""Sign-in sessions kept in Redis (server-side, idle and absolute timeouts), ended one by one
or all of a user's at once."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from triage_service.domain.codes import Role
from triage_service.domain.users import User, parse_board_list
from triage_service.settings import Settings
from triage_service.store import Store


@dataclass(frozen=True, slots=True)
class SignIn:
    """A live sign-in session."""

    token: str
    csrf_token: str
    user: User


USER_AGENT_CHARS = 200


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of a user's signed-in sessions as they see it: never the token itself."""

    id: str
    created_ms: int
    last_seen_ms: int
    user_agent: str
    current: bool


def session_id(token: str) -> str:
    """A session's public id: a one-way digest of its token (the token cannot be had back)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def device_name(user_agent: str | None) -> str:
    """The browser's User-Agent, printable characters only and cut to 200."""
    return "".join(c for c in (user_agent or "") if c.isprintable())[:USER_AGENT_CHARS]


async def open_session(
    store: Store, settings: Settings, user: User, now_ms: int, *, user_agent: str | None = None
) -> SignIn:
    """Start a new session with a fresh 128-bit token, noting the device it was opened on."""
    sign_in = SignIn(
        token=secrets.token_urlsafe(16), csrf_token=secrets.token_urlsafe(16), user=user
    )
    await store.sessions.save(
        sign_in.token,
        json.dumps(
            {
                **user.as_dict(),
                "boards": ",".join(user.boards),
                "csrf": sign_in.csrf_token,
                "created_ms": now_ms,
                "user_agent": device_name(user_agent),
            }
        ),
        user_id=user.id,
        idle_s=settings.session_idle_s,
        lifetime_s=settings.session_absolute_s,
    )
    return sign_in


async def load_session(store: Store, settings: Settings, token: str, now_ms: int) -> SignIn | None:
    """The session for `token`, refreshing its idle timeout; None if absent or too old.

    A JSON string rather than a hash, so that reading and refreshing are one round trip: this
    runs on every request (and refreshes only once a minute of the timeout has run down).
    """
    raw = await store.sessions.touch(token, idle_s=settings.session_idle_s)
    if raw is None:
        return None
    fields = json.loads(raw)
    if now_ms - int(fields["created_ms"]) > settings.session_absolute_s * 1000:
        await store.sessions.end(None, [token])
        return None
    user = User(
        id=fields["id"],
        username=fields["username"],
        display_name=fields["display_name"],
        role=Role(fields["role"]),
        boards=parse_board_list(fields.get("boards")),
        team=fields.get("team"),
    )
    return SignIn(token=token, csrf_token=fields["csrf"], user=user)


async def close_session(store: Store, token: str, user_id: str | None = None) -> None:
    """End a session: its cookie is dead from now on and its sockets close everywhere."""
    await store.sessions.end(user_id, [token])


async def end_user_sessions(store: Store, user_id: str) -> int:
    """End every session of a user (disabled, new role or password); how many there were."""
    tokens = await store.sessions.tokens_of(user_id)
    await store.sessions.end(user_id, tokens)
    return len(tokens)


async def session_alive(store: Store, settings: Settings, token: str, now_ms: int) -> bool:
    """Whether the session still stands (without refreshing it)."""
    raw = await store.sessions.peek(token)
    if raw is None:
        return False
    try:
        created_ms = int(json.loads(raw)["created_ms"])
    except (ValueError, KeyError, TypeError):
        return False
    return now_ms - created_ms <= settings.session_absolute_s * 1000


async def keep_session_alive(store: Store, settings: Settings, token: str, now_ms: int) -> bool:
    """An open live socket is activity: refresh the idle timeout (never the absolute lifetime).

    False once the session is gone (signed out, expired, or past its absolute lifetime)."""
    return await load_session(store, settings, token, now_ms) is not None


async def list_sessions(
    store: Store, settings: Settings, user_id: str, *, current: str, now_ms: int
) -> list[SessionInfo]:
    """The user's live sessions, newest first. Every use restarts a session's idle timeout,
    so its last use is the idle limit less the time it has left."""
    found = []
    for token, raw, ttl_ms in await store.sessions.describe(
        await store.sessions.tokens_of(user_id)
    ):
        if raw is None or ttl_ms < 0:
            continue
        fields = json.loads(raw)
        created_ms = int(fields["created_ms"])
        if now_ms - created_ms > settings.session_absolute_s * 1000:
            continue
        found.append(
            SessionInfo(
                id=session_id(token),
                created_ms=created_ms,
                last_seen_ms=max(created_ms, now_ms - (settings.session_idle_s * 1000 - ttl_ms)),
                user_agent=str(fields.get("user_agent", "")),
                current=token == current,
            )
        )
    return sorted(found, key=lambda s: s.created_ms, reverse=True)


async def end_session_by_id(store: Store, user_id: str, public_id: str) -> bool:
    """End the user's session with this public id (its sockets close everywhere); False if
    the user has none such."""
    tokens = [t for t in await store.sessions.tokens_of(user_id) if session_id(t) == public_id]
    if not tokens or await store.sessions.peek(tokens[0]) is None:
        return False
    await store.sessions.end(user_id, tokens)
    return True
