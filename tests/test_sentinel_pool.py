"""Following a failover leaves no connection on the old master: one in use when the news came
(a command blocked on a stopped master, the wake-up listener's subscription) is closed too, so
no request reads a partitioned old master's stale data once it answers again.

Two real redis-servers of the test's own stand for the old and the new master; what the
sentinels answer (`discover_master`) is the one part played here, so the test can move the
master at the moment it chooses (a real failover: tests/test_failover.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from private_redis import running

from triage_service.store.pool import WaitingSentinelPool, client_options
from triage_service.store.store import Store

Address = tuple[str, int]


@dataclass
class Naming:
    """What the sentinels answer when asked where the master is."""

    master: Address

    async def discover_master(self, _service: str) -> Address:
        return self.master


@dataclass
class Masters:
    """The old and the new master, the sentinels' answer, and a store following it."""

    old: Address
    new: Address
    naming: Naming
    pool: WaitingSentinelPool
    store: Store


@pytest.fixture
async def masters(tmp_path: Path) -> AsyncIterator[Masters]:
    """Two redis-servers, the sentinels naming the first, and a store on a pool that asks
    them."""
    with running(tmp_path / "old") as old_port, running(tmp_path / "new") as new_port:
        old, new = ("127.0.0.1", old_port), ("127.0.0.1", new_port)
        naming = Naming(old)
        pool = WaitingSentinelPool("triage", naming, **client_options())
        store = Store(aioredis.Redis(connection_pool=pool), "moved:")
        yield Masters(old, new, naming, pool, store)
        await store.close()


def reaches(connection: object) -> Address:
    """Where a pooled connection points."""
    return (getattr(connection, "host", ""), getattr(connection, "port", 0))


async def test_a_connection_in_use_when_the_master_moved_is_closed_as_it_comes_back(
    masters: Masters,
) -> None:
    """A connection taken while the sentinels named the old master, then a new connection
    made after they name the new one (which moves the pool's address): the first, released,
    is closed, and every connection the pool hands out afterwards reaches the new master."""
    pool = masters.pool
    old_one = await pool.get_connection()
    assert reaches(old_one) == masters.old and old_one.is_connected
    masters.naming.master = masters.new
    fresh = await pool.get_connection()
    assert reaches(fresh) == masters.new

    await pool.release(old_one)
    assert not old_one.is_connected
    await pool.release(fresh)
    taken = [await pool.get_connection() for _ in range(2)]
    assert {reaches(c) for c in taken} == {masters.new}
    for connection in taken:
        await pool.release(connection)


async def test_the_master_watch_closes_connections_the_pool_moved_past(masters: Masters) -> None:
    """The wake-up listener's subscription was made on the old master; a command after the
    sentinels name the new one moves the pool's address by itself. The store's periodic check
    (`master_moved`) still sees the move and closes the subscription's connection."""
    store = masters.store
    assert not await store.master_moved()  # first look: the old master, nothing to close
    pubsub = store.pubsub()
    await pubsub.subscribe(store.keys.wake)
    assert pubsub.connection is not None and reaches(pubsub.connection) == masters.old

    masters.naming.master = masters.new
    await store.client.set("moved:probe", "1")  # a new connection: the pool's address moves
    assert masters.pool.master_address == masters.new
    assert await store.master_moved()
    assert pubsub.connection is None or not pubsub.connection.is_connected
    assert not await store.master_moved()
    await pubsub.aclose()
