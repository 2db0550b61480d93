"""Atomic counters that throttle callers: sign-in attempts and per-user actions per minute."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from importlib import resources

from redis.commands.core import AsyncScript

from triage_service.store.requests import Request, parse_request
from triage_service.store.store import Store

_SCRIPTS: weakref.WeakKeyDictionary[Store, dict[str, AsyncScript]] = weakref.WeakKeyDictionary()


def _script(store: Store, name: str) -> AsyncScript:
    scripts = _SCRIPTS.setdefault(store, {})
    if name not in scripts:
        source = (resources.files(__package__) / "lua" / f"{name}.lua").read_text()
        scripts[name] = store.client.register_script(source)
    return scripts[name]


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many sign-in failures are free, and how long the longest delay is."""

    pair_free: int
    account_free: int
    address_limit: int
    max_delay_ms: int
    window_ms: int


def _login_keys(store: Store, account: str, address: str) -> list[str]:
    return [
        store.keys.login_failures_pair(account, address),
        store.keys.login_failures_account(account),
        store.keys.login_failures_address(address),
    ]


async def begin_login_attempt(
    store: Store, limits: LoginLimits, *, account: str, address: str, now_ms: int
) -> int:
    """Count a sign-in attempt as a failure unless a delay runs; the delay left (ms) or 0."""
    wait = await _script(store, "login_attempt")(
        keys=_login_keys(store, account, address),
        args=[
            now_ms,
            limits.pair_free,
            limits.account_free,
            limits.address_limit,
            limits.max_delay_ms,
            limits.window_ms,
        ],
    )
    return int(wait)


async def login_succeeded(store: Store, *, account: str, address: str) -> None:
    """Clear the account+address failures and take back the attempt's count."""
    await _script(store, "login_success")(keys=_login_keys(store, account, address), args=[])


async def count_action(store: Store, name: str, user_id: str, *, limit: int, now_ms: int) -> int:
    """Count one `name` action of a user in the current minute; 0 while under `limit`, else
    the seconds until the minute is over."""
    key = store.keys.action_count(name, user_id, now_ms // 60_000)
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
    return _wait_s(int(count), limit, now_ms)


async def load_counting_action(
    store: Store, request_id: str, name: str, user_id: str, *, limit: int, now_ms: int
) -> tuple[Request | None, int]:
    """A request's record, and one `name` action of a user counted in the same round trip
    (`count_action`): the record (None if there is none) and 0, or the seconds to wait."""
    key = store.keys.action_count(name, user_id, now_ms // 60_000)
    # No MULTI/EXEC around them (two commands fewer): the count is INCR's own, atomic, and
    # the three go down one connection in one write, as a transaction's would.
    async with store.client.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.request(request_id))
        pipe.incr(key)
        pipe.expire(key, 120)
        stored, count, _ = await pipe.execute()
    return parse_request(stored), _wait_s(int(count), limit, now_ms)


def _wait_s(count: int, limit: int, now_ms: int) -> int:
    """0 while `count` is within `limit`, else the seconds until the minute is over."""
    if count <= limit:
        return 0
    return max(1, 60 - (now_ms // 1000) % 60)
