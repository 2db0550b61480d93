"""How the service connects to Redis: the options of every connection, and pools that wait
for a free connection rather than fail when all are in use.

redis-py's pools hold at most `max_connections` (100 by default) and refuse the next
command with "Too many connections" (MaxConnectionsError); a burst of more store calls at
once than that answered 503 although Redis itself was fine (seen in the benchmark's
throughput phase). Here such a call waits until a connection comes back, bounded
by the request's own deadline like any other wait on the store. redis-py's
`BlockingConnectionPool` waits too, but takes a lock for every command (about 15 µs of CPU
each here); these pools cost nothing until every connection is in use.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import MaxConnectionsError

MAX_CONNECTIONS = 100  # redis-py's default: more at once would not make Redis answer sooner
STALE_CONNECTION_RETRIES = 1


class WaitWhenFull(ConnectionPool):
    """A pool whose commands wait for a connection when every one is in use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_connections", MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)
        self._turns: deque[asyncio.Future[None]] = deque()

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        """A connection from the pool; when every one is in use, the next one released."""
        while True:
            try:
                connection: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                    *args, **kwargs
                )
                return connection
            except MaxConnectionsError:
                await self._wait_turn()

    async def release(self, connection: AbstractConnection) -> None:
        """Return a connection, and wake the call that has waited longest for one."""
        await super().release(connection)
        self._pass_turn()

    async def _wait_turn(self) -> None:
        turn = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # woken, then cancelled before it could use its turn
            raise  # (a turn cancelled while waiting stays queued; `_pass_turn` skips it)

    def _pass_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)
                return


class WaitingSentinelPool(WaitWhenFull, SentinelConnectionPool):
    """The same for a master found through Redis Sentinel, never handing out a connection to
    a master the sentinels no longer name.

    A new connection asks the sentinels where the master is, and on news of another one
    redis-py's pool closes its idle connections but not those in use (a command blocked on a
    stopped master, say); its asyncio pool then takes them back as they are. Put to use
    again, such a connection would read a partitioned old master's stale data once it answers
    (a request just created on the new master: 404). Here it is closed as it comes back, so
    its next command connects to the master named now."""

    async def release(self, connection: AbstractConnection) -> None:
        """Return a connection, closed if it reaches a master the pool no longer names."""
        # (redis-py's own `owns_connection` asks its base class for a method it lacks.)
        reaches = (getattr(connection, "host", None), getattr(connection, "port", None))
        if self.master_address is not None and reaches != tuple(self.master_address):
            await connection.disconnect()
        await super().release(connection)


def client_options() -> dict[str, Any]:
    """Options for every connection to Redis (direct or through Sentinel).

    No per-command socket timeout: on Python 3.11 redis-py runs every send under
    `asyncio.wait_for`, a task per command, which cost a quarter of each round trip.
    HTTP requests are bounded as a whole instead (`web.errors.deadline_middleware`), and a
    lost connection still fails at once. One quick retry: a pooled connection broken by a
    Redis restart (or failover) fails its first command, and the retry on a fresh connection
    answers (redis-py's default backs off for seconds, past the request deadline).
    """
    return {
        "decode_responses": True,
        "health_check_interval": 30,
        "socket_timeout": None,
        "socket_connect_timeout": 5,
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.02), STALE_CONNECTION_RETRIES),
        "retry_on_error": [aioredis.ConnectionError, aioredis.TimeoutError],
    }
