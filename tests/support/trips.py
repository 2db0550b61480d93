"""Counting what the service sends to Redis: round trips (each command or pipeline a
connection writes) and commands (a pipeline of 200 is one round trip but 200 commands, each
packed and parsed in Python), for tests that hold a cost to a bound whatever the load."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

from conftest import REDIS_URL
from triage_service.store import Store


@dataclass
class Trips:
    """Round trips to Redis (each command or pipeline a connection sends) and commands."""

    sent: int = 0
    commands: int = 0


def counting(trips: Trips) -> type[Connection]:
    """A connection class that counts its round trips into `trips`."""

    class Counting(Connection):
        async def send_packed_command(
            self, command: bytes | str | Iterable[bytes], check_health: bool = True
        ) -> None:
            trips.sent += 1
            await super().send_packed_command(command, check_health)

        def pack_command(self, *args: Any) -> list[bytes]:
            trips.commands += 1
            return super().pack_command(*args)

    return Counting


@contextlib.asynccontextmanager
async def counted_store(key_prefix: str, trips: Trips) -> AsyncIterator[Store]:
    """A store on the test Redis under `key_prefix` that counts its round trips into `trips`."""
    client = aioredis.Redis.from_url(
        REDIS_URL, decode_responses=True, connection_class=counting(trips)
    )
    yield Store(client, key_prefix)
    await client.aclose()
