"""Redis connection, key names and the atomic lifecycle scripts."""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from triage_service.store.keys import Keys

log = logging.getLogger(__name__)

SCRIPT_NAMES = (
    "create",
    "accept",
    "next",
    "cancel",
    "release",
    "expire",
    "outcome",
    "referral_update",
)


class StoreError(RuntimeError):
    """Redis could not be reached or answered unexpectedly."""


# Failures of the store itself (not of the caller): answered 503, retried by loops.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (aioredis.ConnectionError, aioredis.TimeoutError)
STORE_ERRORS: tuple[type[Exception], ...] = (aioredis.RedisError, OSError)


class Refused(Exception):
    """A lifecycle script refused the change; `code` says why, `status` is the current state."""

    def __init__(self, code: str, status: str | None = None) -> None:
        super().__init__(f"{code} (status {status})" if status else code)
        self.code = code
        self.status = status


class Store:
    """The Redis client, its key names and the lifecycle Lua scripts.

    Each script is one atomic step that changes state, updates the statistics counters,
    appends its event to the `events` stream and publishes a wake-up.
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        common = Keys.lua_prelude() + _lua("_common")
        # redis-py's hints cannot say decode_responses=True (every answer is typed
        # `bytes | str`); this client always answers str, so it is typed loosely here.
        self.client: Any = client
        self.keys = Keys(prefix)
        self.scripts: dict[str, AsyncScript] = {
            name: client.register_script(common + "\n" + _lua(name)) for name in SCRIPT_NAMES
        }

    async def run(self, name: str, now_ms: int, *args: Any) -> dict[str, Any]:
        """Run script `name`; raise `Refused` when it refuses, return its result otherwise."""
        raw = await self.scripts[name](args=[self.keys.prefix, now_ms, *args])
        result: dict[str, Any] = json.loads(raw)
        if "error" in result:
            raise Refused(result["error"], result.get("status"))
        return result


def _lua(name: str) -> str:
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text()


async def connect(url: str, *, attempts: int = 20, delay_s: float = 0.25) -> aioredis.Redis:
    """Connect to Redis, retrying with a log line while it is not yet reachable.

    No per-command socket timeout: on Python 3.11 redis-py runs every send under
    `asyncio.wait_for`, a task per command, which cost a quarter of each round trip.
    HTTP requests are bounded as a whole instead (`errors.deadline_middleware`), and a
    lost connection still fails at once.
    """
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        decode_responses=True,
        health_check_interval=30,
        socket_timeout=None,
        socket_connect_timeout=5,
    )
    for attempt in range(1, attempts + 1):
        try:
            await client.ping()
            return client
        except (aioredis.ConnectionError, OSError) as e:
            if attempt == attempts:
                await client.aclose()
                raise StoreError(f"cannot reach Redis at {url}: {e}") from e
            log.warning("Redis at %s not reachable (%s); retry %d", url, e, attempt)
            await asyncio.sleep(delay_s)
    raise AssertionError("unreachable")  # pragma: no cover
