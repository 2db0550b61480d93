"""Sign-in sessions kept in Redis (server-side, idle and absolute timeouts) and the
sign-in failure counters that rate-limit guessing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from triage_service.domain.codes import Role
from triage_service.domain.errors import RateLimited
from triage_service.domain.users import User, parse_board_list
from triage_service.settings import Settings
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
    await store.sessions.save(
        sign_in.token,
        json.dumps(
            {
                **user.as_dict(),
                "boards": ",".join(user.boards),
                "csrf": sign_in.csrf_token,
                "created_ms": now_ms,
            }
        ),
        idle_s=settings.session_idle_s,
    )
    return sign_in


async def load_session(store: Store, settings: Settings, token: str, now_ms: int) -> SignIn | None:
    """The session for `token`, refreshing its idle timeout; None if absent or too old.

    A JSON string rather than a hash, so that reading and refreshing are one command
    (GETEX): this runs on every request.
    """
    raw = await store.sessions.touch(token, idle_s=settings.session_idle_s)
    if raw is None:
        return None
    fields = json.loads(raw)
    if now_ms - int(fields["created_ms"]) > settings.session_absolute_s * 1000:
        await store.sessions.delete(token)
        return None
    user = User(
        id=fields["id"],
        username=fields["username"],
        display_name=fields["display_name"],
        role=Role(fields["role"]),
        boards=parse_board_list(fields.get("boards")),
    )
    return SignIn(token=token, csrf_token=fields["csrf"], user=user)


async def close_session(store: Store, token: str) -> None:
    """End a session: its cookie is dead from now on."""
    await store.sessions.delete(token)


async def check_login_allowed(
    store: Store, settings: Settings, *, username: str, remote: str
) -> None:
    """Raise 429 with Retry-After while the username or address has too many failures."""
    for key, limit in _failure_keys(store, username, remote, settings):
        if await store.sessions.failures(key) >= limit:
            retry = max(1, await store.sessions.seconds_left(key))
            minutes = -(-retry // 60)
            raise RateLimited(
                f"Too many failed sign-ins. Try again in {minutes} "
                f"minute{'' if minutes == 1 else 's'}.",
                retry_after_s=retry,
            )


async def record_login_failure(
    store: Store, settings: Settings, *, username: str, remote: str
) -> None:
    """Count a failed sign-in against the username and the address."""
    keys = [key for key, _ in _failure_keys(store, username, remote, settings)]
    await store.sessions.count_failure(keys, window_s=settings.login_window_s)


def _failure_keys(
    store: Store, username: str, remote: str, settings: Settings
) -> list[tuple[str, int]]:
    # Addresses are personal data: only a keyed hash of them is stored.
    address = hmac.new(_secret(settings), remote.encode(), hashlib.sha256).hexdigest()[:32]
    limit = settings.login_max_failures
    by_user, by_address = store.sessions.failure_keys(username, address)
    return [(by_user, limit), (by_address, limit * 4)]


_RANDOM_SECRET = secrets.token_bytes(32)


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.encode() if settings.secret_key else _RANDOM_SECRET


async def keep_session_alive(store: Store, settings: Settings, token: str, now_ms: int) -> bool:
    """An open live socket is activity: refresh the idle timeout (never the absolute lifetime).

    False once the session is gone (signed out, expired, or past its absolute lifetime)."""
    return await load_session(store, settings, token, now_ms) is not None
