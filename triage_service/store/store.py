"""The Store: the Redis client, its key names, the atomic lifecycle scripts and one typed
part per concern (requests, accounts, sessions, ...)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.client import PubSub
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.commands.core import AsyncScript

from triage_service.domain.idempotency import Idempotency
from triage_service.store.accounts import Accounts
from triage_service.store.alarms import Alarms
from triage_service.store.audit import Audit
from triage_service.store.base import Refused
from triage_service.store.changes import ScriptCall
from triage_service.store.chat import Chat
from triage_service.store.clinicians import Clinicians
from triage_service.store.contacts import Contacts
from triage_service.store.factors import Factors
from triage_service.store.identity import Identities
from triage_service.store.keys import Keys
from triage_service.store.maintenance import delete_prefix
from triage_service.store.participants import Participants
from triage_service.store.pool import WaitingSentinelPool, WaitWhenFull, client_options
from triage_service.store.presence import Presence
from triage_service.store.referrals import Referrals
from triage_service.store.requests import Requests
from triage_service.store.retention import Retention
from triage_service.store.schema import Schema
from triage_service.store.scripts import lua_script
from triage_service.store.sessions import Sessions
from triage_service.store.stats import Stats
from triage_service.store.timers import Timers
from triage_service.store.wakes import Wake

log = logging.getLogger(__name__)

SCRIPT_NAMES = (
    "create",
    "message",
    "accept",
    "next",
    "cancel",
    "release",
    "expire",
    "outcome",
    "referral_update",
    "place_of_safety",
    "feedback",
    "report_month",
    "presence",
    "alarm_raise",
    "alarm_ack",
    "alarm_claim_delivery",
    "stats_rebuild",
    "person_link",
    "referrals_due_index",
    "transfer_offer",
    "transfer_accept",
    "transfer_end",
    "transfer_colleagues",
)


# Scripts whose last argument is the change's idempotency key (`Idempotency.to_json()`, or
# '' for none); `Store.run` appends it.
IDEMPOTENT = frozenset(
    {
        "accept",
        "next",
        "release",
        "cancel",
        "outcome",
        "message",
        "referral_update",
        "alarm_ack",
        "feedback",
        "transfer_offer",
        "transfer_accept",
        "transfer_end",
    }
)

MASTER_CHECK_S = 0.5  # how often an instance on Sentinel asks where the master is


class StoreError(RuntimeError):
    """Redis could not be reached or answered unexpectedly."""


class NotReplicated(aioredis.RedisError):
    """Fewer replicas than `min_replicas` confirmed a state change in time (503)."""


# Anything the store may raise; `unavailable_reason` tells the store's own failures (503,
# retried by loops) from the rest.
STORE_ERRORS: tuple[type[Exception], ...] = (aioredis.RedisError, OSError)
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (aioredis.ConnectionError, aioredis.TimeoutError)
_UNAVAILABLE: tuple[tuple[type[Exception], str], ...] = (
    (NotReplicated, "not_replicated"),
    (redis_errors.OutOfMemoryError, "out_of_memory"),
    (redis_errors.ReadOnlyError, "read_only"),
    (redis_errors.BusyLoadingError, "loading"),
    (redis_errors.ExecAbortError, "transaction_aborted"),
    (aioredis.ConnectionError, "unreachable"),
    (aioredis.TimeoutError, "unreachable"),
    (OSError, "unreachable"),
)
# Refusals that Redis answers as plain errors, by their first word: a master cut off from
# its replicas (`min-replicas-to-write`), or a replica answering as if it were the master (a
# demoted master still reached through a pooled connection refuses `WAIT`).
_UNAVAILABLE_WORDS = {
    "BUSY": "busy",
    "MASTERDOWN": "master_down",
    "NOREPLICAS": "no_replicas",
    "READONLY": "read_only",
    "WAIT": "read_only",  # "WAIT cannot be used with replica instances"
}
# redis-py prefixes the error of a pipelined command with the command.
_PIPELINED = re.compile(r"^Command # \d+ \(.*?\) of pipeline caused error: \(?['\"]?", re.DOTALL)
# Reasons that mean the connection reached a server that is no longer (or not yet) the
# master it was: the pool is dropped so new connections ask the sentinels again.
ROLE_REASONS = frozenset({"read_only", "no_replicas", "master_down"})


def unavailable_reason(error: BaseException) -> str | None:
    """Why the store cannot serve now (`out_of_memory`, `read_only`, `loading`, `busy`,
    `unreachable`, ...), or None when `error` is not a failure of the store itself."""
    for kind, reason in _UNAVAILABLE:
        if isinstance(error, kind):
            return reason
    if isinstance(error, redis_errors.ResponseError):
        text = _PIPELINED.sub("", str(error), count=1)
        return _UNAVAILABLE_WORDS.get(text.split(" ", 1)[0])
    return None


class Store:
    """The Redis client, its key names, the lifecycle Lua scripts and the typed parts.

    Each script is one atomic step that changes state, updates the statistics counters,
    appends its event to the `events` stream and publishes a wake-up. Every script starts
    with the key names rendered from `Keys` (`Keys.lua_prelude`), then the shared pieces it
    includes (`lua_script`).
    """

    def __init__(
        self, client: aioredis.Redis, prefix: str, *, min_replicas: int = 0, wait_ms: int = 1000
    ) -> None:
        self.min_replicas = min_replicas
        self.wait_ms = wait_ms
        # With Sentinel: the master this store last found the sentinels naming (`master_moved`).
        self.followed_master: tuple[str, int] | None = None
        # Tools and tests may read Redis through `client`; the service uses the parts below.
        self.client = client
        self.keys = keys = Keys(prefix)
        self.scripts: dict[str, AsyncScript] = {
            name: client.register_script(lua_script(name)) for name in SCRIPT_NAMES
        }
        self.requests = Requests(client, keys)
        self.accounts = Accounts(client, keys)
        self.sessions = Sessions(client, keys)
        self.clinicians = Clinicians(client, keys)
        self.chat = Chat(client, keys, self.run)
        self.referrals = Referrals(client, keys)
        self.timers = Timers(client, keys)
        self.retention = Retention(client, keys)
        self.audit = Audit(client, keys)
        self.stats = Stats(client, keys, client.register_script(lua_script("stats")))
        self.alarms = Alarms(client, keys, self.run)
        self.presence = Presence(client, keys, self.run)
        self.schema = Schema(client, keys)
        self.identities = Identities(client, keys)
        self.factors = Factors(client, keys)
        self.contacts = Contacts(client, keys)
        self.participants = Participants(client, keys)

    async def probe(self, *, now_ms: int) -> str | None:
        """A small write, as every state change needs; the reason it failed (see
        `unavailable_reason`), or None when the store can serve."""
        try:
            await self.client.set(self.keys.health, now_ms, px=60_000)
        except STORE_ERRORS as e:
            return unavailable_reason(e) or "error"
        return None

    async def run(
        self, name: str, now_ms: int, *args: Any, idempotency: Idempotency | None = None
    ) -> dict[str, Any]:
        """Run script `name`; raise `Refused` when it refuses, return its result otherwise.

        The scripts in `IDEMPOTENT` get `idempotency` as their last argument: a repeat of the
        same user's key answers the first change again (`repeated` in the result).

        With `min_replicas`, the script and a `WAIT` go down one connection (WAIT counts the
        replicas that have that connection's writes): fewer than `min_replicas` within
        `wait_ms` raise `NotReplicated` (the change may still be there, as a retry with the
        same idempotency key shows).
        """
        try:
            raw, replicas = await self._run_script(name, now_ms, args, idempotency)
        except redis_errors.ResponseError as e:
            if unavailable_reason(e) in ROLE_REASONS:  # not the master (any more): ask again
                await self.forget_connections()
            raise
        result: dict[str, Any] = json.loads(raw)
        if "error" in result:
            raise Refused(result["error"], result.get("status"))
        if replicas is not None and replicas < self.min_replicas:
            raise NotReplicated(f"{replicas} of {self.min_replicas} replicas have the change")
        return result

    async def change(
        self, call: ScriptCall, *, now_ms: int, idempotency: Idempotency | None = None
    ) -> dict[str, Any]:
        """Run the lifecycle script of `call` with its typed arguments (`store/changes.py`);
        as `run`."""
        return await self.run(call.script, now_ms, *call.argv(), idempotency=idempotency)

    async def _run_script(
        self, name: str, now_ms: int, args: Sequence[Any], idempotency: Idempotency | None
    ) -> tuple[str, int | None]:
        """The script's raw answer and, with `min_replicas`, how many replicas have it."""
        script, script_args = self.scripts[name], _arguments(self, name, now_ms, args, idempotency)
        if not self.min_replicas:
            return await script(args=script_args), None
        async with self.client.pipeline(transaction=False) as pipe:
            await script(args=script_args, client=pipe)
            pipe.wait(self.min_replicas, self.wait_ms)
            raw, replicas = await pipe.execute()
        return raw, replicas

    async def forget_connections(self) -> None:
        """Close every pooled connection, in use or idle: each new one finds the master again
        (through Sentinel, the one the sentinels name now)."""
        await self.client.connection_pool.disconnect(inuse_connections=True)

    async def master_moved(self) -> bool:
        """With Sentinel: whether the sentinels name another master than when this store last
        asked; if so every connection is closed, in use or idle, so no request (nor the
        wake-up listener) reads or writes a demoted (or partitioned) master's stale data.
        Without Sentinel: False.

        The comparison is with the store's own last answer, not the pool's address: a new
        connection asking the sentinels moves that one by itself, leaving the connections
        in use on the old master."""
        pool = self.client.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return False
        named = await pool.sentinel_manager.discover_master(pool.service_name)
        followed = self.followed_master or pool.master_address
        self.followed_master = named
        if followed is None or named == followed:
            return False
        log.warning(
            "the Redis master moved from %s to %s: closing the connections to the old one",
            followed,
            named,
        )
        pool.master_address = named
        await self.forget_connections()
        return True

    async def run_many(self, calls: Sequence[tuple[str, int, Sequence[Any]]]) -> list[str]:
        """Several scripts `(name, now_ms, args)` in one pipeline, for bulk loading by tools;
        their raw answers in order."""
        async with self.client.pipeline(transaction=False) as pipe:
            for name, now_ms, args in calls:
                await self.scripts[name](args=_arguments(self, name, now_ms, args), client=pipe)
            return list(await pipe.execute())

    async def configure(self, name: str, value: str) -> None:
        """Set a Redis server setting (benchmarks turn fsync off, for instance)."""
        await self.client.config_set(name, value)

    async def delete_all(self) -> int:
        """Delete every key under this store's prefix; how many there were."""
        return await delete_prefix(self.client, self.keys.prefix)

    async def replicas(self) -> int:
        """How many replicas are connected to the master (INFO replication)."""
        info = await self.client.info("replication")
        return int(info.get("connected_slaves", 0))

    async def wait_for_replicas(self, replicas: int, timeout_ms: int) -> int:
        """WAIT: how many replicas have this connection's writes, within `timeout_ms`."""
        return int(await self.client.wait(replicas, timeout_ms))

    async def ping(self) -> None:
        """Raise one of `STORE_ERRORS` unless Redis answers."""
        await self.client.ping()

    async def publish(self, wake: Wake) -> None:
        """Publish a wake-up to every instance."""
        await self.client.publish(self.keys.wake, wake.to_json())

    async def close(self) -> None:
        """Close the client's connections (and, through Sentinel, those to the sentinels)."""
        await close_client(self.client)

    def pubsub(self) -> PubSub:
        """A pub/sub connection for the wake-up listener (live/wakeups.py)."""
        return self.client.pubsub(ignore_subscribe_messages=True)


def _arguments(
    store: Store,
    name: str,
    now_ms: int,
    args: Sequence[Any],
    idempotency: Idempotency | None = None,
) -> list[Any]:
    """A script's ARGV: the key prefix, the time, its own arguments, then for the
    `IDEMPOTENT` ones the idempotency key ('' for none)."""
    found = [store.keys.prefix, now_ms, *args]
    if name in IDEMPOTENT:
        found.append(idempotency.to_json() if idempotency else "")
    return found


def sentinel_client(sentinels: Sequence[tuple[str, int]], service: str) -> aioredis.Redis:
    """A client for the master of `service` as Redis Sentinel names it, following failovers:
    each new connection asks the sentinels where the master is now."""
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinels), sentinel_kwargs={"socket_timeout": 1.0}
    )
    client: aioredis.Redis = sentinel.master_for(
        service, connection_pool_class=WaitingSentinelPool, **client_options()
    )
    return client


async def follow_master(store: Store, *, interval_s: float = MASTER_CHECK_S) -> None:
    """Until cancelled, ask the sentinels every `interval_s` where the master is and drop the
    connections to a master they no longer name (`Store.master_moved`)."""
    while True:
        try:
            await store.master_moved()
        except STORE_ERRORS as e:
            log.warning("cannot ask the sentinels where the Redis master is: %s", e)
        await asyncio.sleep(interval_s)


async def close_client(client: aioredis.Redis) -> None:
    """Close a client from `connect`: its pool and, for a Sentinel-managed one, the
    connections its Sentinel holds to the sentinels (`aclose` of the client leaves them)."""
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if isinstance(manager, Sentinel):
        await manager.aclose()


async def connect(
    url: str | None = None,
    *,
    sentinels: Sequence[tuple[str, int]] = (),
    service: str = "triage",
    attempts: int = 20,
    delay_s: float = 0.25,
) -> aioredis.Redis:
    """Connect to Redis at `url`, or to the master of `service` through `sentinels`,
    retrying with a log line while it is not yet reachable."""
    where = url or f"sentinel service {service!r} at {list(sentinels)}"
    if sentinels:
        client = sentinel_client(sentinels, service)
    elif url:
        client = aioredis.Redis.from_pool(WaitWhenFull.from_url(url, **client_options()))
    else:
        raise StoreError("no Redis URL and no Sentinel addresses")
    for attempt in range(1, attempts + 1):
        try:
            await client.ping()
            return client
        except (aioredis.ConnectionError, OSError) as e:
            if attempt == attempts:
                await close_client(client)
                raise StoreError(f"cannot reach Redis at {where}: {e}") from e
            log.warning("Redis at %s not reachable (%s); retry %d", where, e, attempt)
            await asyncio.sleep(delay_s)
    raise AssertionError("unreachable")  # pragma: no cover
