"""Throttling: sign-in guessing (progressive delays) and per-user actions per minute.

Sign-in failures are counted per account+address (a delay doubling from 1 s after
`login_max_failures`, up to `login_max_delay_s`), per account (the same, after the much
higher `login_account_failures`, so one address cannot lock a known username out), and per
address (a flat `login_address_failures` per window, high enough for a force behind one NAT).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

from triage_service.domain.errors import RateLimited
from triage_service.settings import Settings
from triage_service.store.limits import (
    LoginLimits,
    begin_login_attempt,
    count_action,
    login_succeeded,
)
from triage_service.store.store import Store


def _limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        pair_free=settings.login_max_failures,
        account_free=settings.login_account_failures,
        address_limit=settings.login_address_failures,
        max_delay_ms=settings.login_max_delay_s * 1000,
        window_ms=settings.login_window_s * 1000,
    )


async def start_login(
    store: Store, settings: Settings, *, username: str, remote: str, now_ms: int
) -> None:
    """Raise RateLimited (with Retry-After) while a delay runs; else count the attempt."""
    wait_ms = await begin_login_attempt(
        store,
        _limits(settings),
        account=_account(username),
        address=_address(settings, remote),
        now_ms=now_ms,
    )
    if wait_ms > 0:
        retry = max(1, math.ceil(wait_ms / 1000))
        raise RateLimited(
            f"Too many failed sign-ins. Try again in {retry} seconds.", retry_after_s=retry
        )


async def login_ok(store: Store, settings: Settings, *, username: str, remote: str) -> None:
    """A sign-in succeeded: its attempt was no failure, and this address starts afresh."""
    await login_succeeded(store, account=_account(username), address=_address(settings, remote))


async def limit_action(store: Store, user_id: str, action: str, *, limit: int, now_ms: int) -> None:
    """Raise RateLimited once a user does `action` more than `limit` times in a minute."""
    wait_s = await count_action(store, action, user_id, limit=limit, now_ms=now_ms)
    if wait_s:
        raise RateLimited(
            f"Too many in a minute; try again in {wait_s} seconds.", retry_after_s=wait_s
        )


def _account(username: str) -> str:
    # Usernames are short and printable (accounts.add_user); a hash keeps keys uniform.
    return hashlib.sha256(username.lower().encode()).hexdigest()[:32]


def _address(settings: Settings, remote: str) -> str:
    # Addresses are personal data: only a keyed hash of them is stored.
    return hmac.new(_secret(settings), remote.encode(), hashlib.sha256).hexdigest()[:32]


_RANDOM_SECRET = secrets.token_bytes(32)


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.encode() if settings.secret_key else _RANDOM_SECRET
