"""Redis connection, key names and the atomic lifecycle scripts."""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

SCRIPT_NAMES = ("create", "accept", "next", "cancel", "release", "expire", "outcome",
                "referral_update")


class StoreError(RuntimeError):
    """Redis could not be reached or answered unexpectedly."""


class Conflict(Exception):
    """A lifecycle script refused the change; `code` says why, `status` is the current state."""

    def __init__(self, code: str, status: str | None = None) -> None:
        super().__init__(f"{code} (status {status})" if status else code)
        self.code = code
        self.status = status


class Keys:
    """Every Redis key name, under one prefix so deployments can share a server."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, name: str) -> str:
        return self.prefix + name

    def request(self, request_id: str) -> str:
        return f"{self.prefix}req:{request_id}"

    def messages(self, request_id: str) -> str:
        return f"{self.prefix}msgs:{request_id}"

    def referral(self, referral_id: str) -> str:
        return f"{self.prefix}referral:{referral_id}"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"

    def session(self, token: str) -> str:
        return f"{self.prefix}sess:{token}"

    def officer_requests(self, officer_id: str) -> str:
        return f"{self.prefix}officer:{officer_id}:reqs"

    def clinician_sessions(self, clinician_id: str) -> str:
        return f"{self.prefix}clin:{clinician_id}:sessions"


class Store:
    """The Redis client, its key names and the lifecycle Lua scripts.

    Each script is one atomic step that changes state, updates the statistics counters,
    appends its event to the `events` stream and publishes a wake-up.
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        common = _lua("_common")
        # redis-py's hints cannot say decode_responses=True (every answer is typed
        # `bytes | str`); this client always answers str, so it is typed loosely here.
        self.client: Any = client
        self.keys = Keys(prefix)
        self.scripts: dict[str, AsyncScript] = {
            name: client.register_script(common + "\n" + _lua(name)) for name in SCRIPT_NAMES
        }

    async def run(self, name: str, now_ms: int, *args: Any) -> dict[str, Any]:
        """Run script `name`; raise `Conflict` when it refuses, return its result otherwise."""
        raw = await self.scripts[name](args=[self.keys.prefix, now_ms, *args])
        result: dict[str, Any] = json.loads(raw)
        if "error" in result:
            raise Conflict(result["error"], result.get("status"))
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
        url, decode_responses=True, health_check_interval=30,
        socket_timeout=None, socket_connect_timeout=5)
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
