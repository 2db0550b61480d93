"""Throttling: sign-in guessing (progressive delays) and per-user actions per minute.

Sign-in failures are counted per account+address (a delay doubling from 1 s after
`login_max_failures`, up to `login_max_delay_s`), per account (the same, after the much
higher `login_account_failures`, and only for addresses that have themselves failed on the
account: the right password from an address that has not failed always gets in), and per
address (a flat `login_address_failures` per window, high enough for a force behind one NAT).
An address is the caller's as `web.auth.caller_address` finds it (through trusted proxies);
IPv6 addresses count by their /64, what one host or household usually holds.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets

from triage_service.domain.errors import RateLimited
from triage_service.domain.words import plural
from triage_service.settings import Settings
from triage_service.store.limits import (
    LoginLimits,
    begin_login_attempt,
    count_action,
    load_counting_action,
    login_succeeded,
)
from triage_service.store.requests import Request
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
            f"Too many failed sign-ins. Try again in {plural(retry, 'second')}.",
            retry_after_s=retry,
        )


async def login_ok(store: Store, settings: Settings, *, username: str, remote: str) -> None:
    """A sign-in succeeded: its attempt was no failure, and this address starts afresh."""
    await login_succeeded(store, account=_account(username), address=_address(settings, remote))


async def limit_action(store: Store, user_id: str, action: str, *, limit: int, now_ms: int) -> None:
    """Raise RateLimited once a user does `action` more than `limit` times in a minute."""
    wait_s = await count_action(store, action, user_id, limit=limit, now_ms=now_ms)
    if wait_s:
        raise _limited(wait_s)


async def load_limiting_action(
    store: Store, request_id: str, user_id: str, action: str, *, limit: int, now_ms: int
) -> tuple[Request | None, RateLimited | None]:
    """A request's record with one `action` of the user counted in the same round trip: the
    record (None if there is none) and the `RateLimited` to raise once the caller has checked
    that they may know the record (None while under `limit` a minute)."""
    record, wait_s = await load_counting_action(
        store, request_id, action, user_id, limit=limit, now_ms=now_ms
    )
    return record, _limited(wait_s) if wait_s else None


def over_the_limit(now_ms: int) -> RateLimited:
    """The `RateLimited` of an action counted over its limit (by a lifecycle step) at
    `now_ms`: wait until the minute is over."""
    return _limited(max(1, 60 - (now_ms // 1000) % 60))


def _limited(wait_s: int) -> RateLimited:
    return RateLimited(
        f"Too many in a minute; try again in {plural(wait_s, 'second')}.", retry_after_s=wait_s
    )


def _account(username: str) -> str:
    # Usernames are short and printable (accounts.add_user); a hash keeps keys uniform.
    return hashlib.sha256(username.lower().encode()).hexdigest()[:32]


def _address(settings: Settings, remote: str) -> str:
    # Addresses are personal data: only a keyed hash of them is stored.
    return hmac.new(_secret(settings), _subnet(remote).encode(), hashlib.sha256).hexdigest()[:32]


def _subnet(remote: str) -> str:
    """An IPv4 address as itself, an IPv6 address as its /64 (one host can hold all of it)."""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


_RANDOM_SECRET = secrets.token_bytes(32)


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.encode() if settings.secret_key else _RANDOM_SECRET
