"""The connection pool under a burst: more store calls at once than it holds connections
wait for one instead of failing (triage_service/store/pool.py)."""

from __future__ import annotations

import asyncio

from conftest import REDIS_URL
from triage_service.store.pool import MAX_CONNECTIONS, WaitWhenFull
from triage_service.store.store import close_client, connect


async def test_more_calls_at_once_than_connections_all_answer() -> None:
    """Three times as many blocking calls at once as the pool holds connections all answer,
    over at most MAX_CONNECTIONS connections (redis-py's own pool refused every call past
    the hundredth with "Too many connections", which the API answered 503)."""
    client = await connect(REDIS_URL)
    try:
        calls = 3 * MAX_CONNECTIONS
        answers = await asyncio.gather(*(client.blpop(["no-such-list"], 0.2) for _ in range(calls)))
        assert answers == [None] * calls
        pool = client.connection_pool
        assert isinstance(pool, WaitWhenFull)
        assert len(pool._available_connections) == MAX_CONNECTIONS
    finally:
        await close_client(client)


async def test_a_waiting_call_cancelled_leaves_its_turn_to_the_next() -> None:
    """A call cancelled while it waits for a connection (its request's deadline), even just
    after it was given the one released, takes no turn with it: the next waiting call gets
    that connection."""
    pool = WaitWhenFull.from_url(REDIS_URL, max_connections=1)
    try:
        held = await pool.get_connection()
        first, second = (asyncio.create_task(pool.get_connection()) for _ in range(2))
        await asyncio.sleep(0.05)  # both wait
        await pool.release(held)  # the first is given its turn...
        first.cancel()  # ...and cancelled before it could take the connection
        connection = await asyncio.wait_for(second, 2)
        assert connection is held
        assert first.cancelled()
    finally:
        await pool.aclose()
