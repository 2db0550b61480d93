"""High availability: two instances on Redis Sentinel (one master, two replicas, three
sentinels, real redis-server processes); `kill -9` of the master under load loses no
acknowledged request or outcome, never answers 500, and the service is back within 15 s."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import private_redis
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, REQUEST_FORM, ApiClient, create_account, log_in, new_request
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store import Store, find_redis_server, unavailable_reason
from triage_service.store.store import MASTER_CHECK_S
from triage_service.web.app import create_app

SERVICE = "triage"
BACK_WITHIN_S = 15.0
LOAD_AFTER_BACK_S = 2.0  # the load goes on this long once requests succeed again


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """The Redis processes of one Sentinel deployment on this machine."""

    master_port: int
    sentinel_ports: list[int]
    directory: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sentinels(self) -> str:
        """The `redis_sentinels` setting for this cluster."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def sentinel_events(self) -> str:
        """The last events each sentinel logged (down, votes, failover, tilt), for a failure
        message: why a failover took longer than it should."""
        found = []
        for n in range(len(self.sentinel_ports)):
            log = self.directory / f"s{n}" / f"sentinel{n}.log"
            events = [line for line in log.read_text().splitlines() if " # " in line]
            found.append(f"sentinel{n}:\n" + "\n".join(events[-25:]))
        return "\n".join(found)


def start_redis(name: str, directory: Path, *args: str) -> subprocess.Popen[bytes]:
    """A redis-server (or sentinel) process with its own directory and log file."""
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            find_redis_server(),
            *args,
            "--dir",
            str(directory),
            "--logfile",
            str(directory / f"{name}.log"),
        ],
        stdout=subprocess.DEVNULL,
    )


async def until(check: object, timeout: float, what: str, explain: Callable[[], str] = str) -> None:
    """Poll the async `check()` until it is true or fail with `what` (and `explain()`)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aioredis.RedisError, OSError):
            if await check():  # type: ignore[operator]
                return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}\n{explain()}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """One master, two replicas (AOF, fsync always; a master without a replica in sync for
    2 s refuses writes, as deploy/compose.yaml's) and three sentinels, all in sync."""
    ports = [free_port() for _ in range(6)]
    master, replicas, sentinel_ports = ports[0], ports[1:3], ports[3:]
    found = Cluster(master, sentinel_ports, tmp_path)
    durable = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--repl-diskless-sync-delay",
        "0",
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
    ]
    found.processes["master"] = start_redis(
        "master", tmp_path / "m", "--port", str(master), *durable
    )
    for n, port in enumerate(replicas):
        found.processes[f"replica{n}"] = start_redis(
            f"replica{n}",
            tmp_path / f"r{n}",
            "--port",
            str(port),
            *durable,
            "--replicaof",
            "127.0.0.1",
            str(master),
        )
    master_client = aioredis.Redis(port=master, decode_responses=True)
    sentinel = aioredis.Redis(port=sentinel_ports[0], decode_responses=True)

    async def replicated() -> bool:
        info = await master_client.info("replication")
        return [info.get(f"slave{n}", {}).get("state") for n in range(2)] == ["online"] * 2

    async def sentinels_agree() -> bool:
        replicas_seen = await sentinel.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "REPLICAS", SERVICE
        )
        others = await sentinel.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "SENTINELS", SERVICE
        )
        return len(replicas_seen) == 2 and len(others) == 2

    try:
        await until(replicated, 60, "both replicas to be in sync")  # set-up, not the figure
        # The sentinels start once the replicas are in sync: a sentinel learns of replicas
        # from the master's INFO, read at once and then every 10 s, so sentinels started with
        # the replicas waited 10 s for the second reading.
        for n, port in enumerate(sentinel_ports):
            conf = tmp_path / f"s{n}" / "sentinel.conf"
            conf.parent.mkdir(parents=True)
            conf.write_text(
                f"port {port}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 2000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            found.processes[f"sentinel{n}"] = start_redis(
                f"sentinel{n}", conf.parent, str(conf), "--sentinel"
            )
        await until(sentinels_agree, 30, "the sentinels to find each other and the replicas")
        yield found
    finally:
        await master_client.aclose()
        await sentinel.aclose()
        for process in found.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=10)


@dataclass
class Tally:
    """What the load saw: acknowledged writes, answers by status, the first success after
    the kill."""

    created: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    killed_at: float | None = None
    back_at: float | None = None

    def saw(self, status: int, sent_at: float) -> None:
        """Count an answer; the first success of a request sent after the kill marks the
        service back."""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        killed = self.killed_at
        if 200 <= status < 300 and killed is not None and sent_at > killed and not self.back_at:
            self.back_at = time.monotonic()

    def settled(self) -> bool:
        """Whether the service has been back for LOAD_AFTER_BACK_S (the load may stop)."""
        return self.back_at is not None and time.monotonic() > self.back_at + LOAD_AFTER_BACK_S


async def retried(
    tally: Tally, api: ApiClient, path: str, body: object, key: str, stop_at: float
) -> tuple[int, object]:
    """POST until it is answered other than 503 (same Idempotency-Key each time)."""
    while True:
        sent_at = time.monotonic()
        status, answer = await api.post(path, body, headers={"Idempotency-Key": key})
        tally.saw(status, sent_at)
        if status != 503 or time.monotonic() > stop_at:
            return status, answer
        await asyncio.sleep(0.2)


async def read_again(api: ApiClient, path: str, stop_at: float) -> tuple[int, Any]:
    """GET until it is answered other than 503."""
    status, answer = await api.get(path)
    while status == 503 and time.monotonic() < stop_at:
        await asyncio.sleep(0.2)
        status, answer = await api.get(path)
    return status, answer


async def account_once_writable(server: TestServer) -> User:
    """A supervisor account, written straight to the store (as the tests make accounts) once
    the promoted master takes writes: until its new replica has caught up it refuses them
    (NOREPLICAS, `min-replicas-to-write`), as it refuses the service's (answered 503)."""
    give_up_at = time.monotonic() + BACK_WITHIN_S
    while True:
        try:
            return await create_account(server.app, Role.SUPERVISOR)
        except (aioredis.ResponseError, aioredis.ConnectionError):
            if time.monotonic() > give_up_at:
                raise
            await asyncio.sleep(0.2)


async def one_pair(tally: Tally, officer: ApiClient, clinician: ApiClient, stop_at: float) -> None:
    """Requests, accepts and outcomes in a loop until `stop_at` or the service has been back
    a while, recording what was acknowledged."""
    while time.monotonic() < stop_at and not tally.settled():
        status, created = await retried(
            tally, officer, "/api/v1/requests", REQUEST_FORM, secrets.token_hex(8), stop_at
        )
        if status != 201 or not isinstance(created, dict):
            continue
        rid = created["id"]
        tally.created.append(rid)
        status, _ = await retried(
            tally, clinician, f"/api/v1/requests/{rid}/accept", {}, secrets.token_hex(8), stop_at
        )
        if status == 409:  # the accept was made but its answer was lost: check it
            sent_at = time.monotonic()
            status, record = await clinician.get(f"/api/v1/requests/{rid}")
            tally.saw(status, sent_at)
            status = 200 if status == 200 and record["status"] == "in_session" else 409
        if status != 200:
            continue
        status, _ = await retried(
            tally,
            clinician,
            f"/api/v1/requests/{rid}/outcome",
            OUTCOME_FORM,
            secrets.token_hex(8),
            stop_at,
        )
        if status == 201:
            tally.completed.append(rid)


async def test_killing_the_master_loses_no_acknowledged_write(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Load through two instances, kill -9 of the Redis master: Sentinel promotes a replica,
    the instances follow it, every acknowledged request and outcome is still there, no
    answer is a 500, and requests succeed again within 15 s."""
    settings = Settings(
        redis_sentinels=cluster.sentinels,
        redis_service=SERVICE,
        key_prefix="ha:",
        redis_min_replicas=1,
        redis_wait_ms=1000,
        store_deadline_s=3,
        sweep_interval_s=0.2,
        requests_per_minute=100_000,  # the load is one officer making request after request
    )
    servers = [TestServer(create_app(settings)) for _ in range(2)]
    for server in servers:
        await server.start_server()
    tally, clients = Tally(), []
    try:
        for n in range(4):
            server = servers[n % 2]
            officer = await log_in(server, await create_account(server.app, Role.OFFICER))
            clinician = await log_in(
                servers[(n + 1) % 2], await create_account(server.app, Role.CLINICIAN)
            )
            clients += [officer, clinician]
        stop_at = time.monotonic() + 1.5 + BACK_WITHIN_S
        load = [
            asyncio.create_task(one_pair(tally, clients[i], clients[i + 1], stop_at))
            for i in range(0, len(clients), 2)
        ]
        await asyncio.sleep(1.5)
        acknowledged_before = len(tally.created)
        cluster.processes["master"].kill()
        tally.killed_at = time.monotonic()
        await asyncio.gather(*load)
        assert acknowledged_before > 0
        assert 500 not in tally.statuses, tally.statuses
        assert tally.back_at is not None, "no request succeeded after the master died"
        assert tally.back_at - tally.killed_at <= BACK_WITHIN_S
        reader = await log_in(servers[0], await account_once_writable(servers[0]))
        clients.append(reader)
        reads_until = time.monotonic() + BACK_WITHIN_S
        for rid in tally.created:
            status, record = await read_again(reader, f"/api/v1/requests/{rid}", reads_until)
            assert status == 200, (rid, status)
        for rid in tally.completed:
            _, record = await read_again(reader, f"/api/v1/requests/{rid}", reads_until)
            assert record["status"] == "completed", rid
        print(
            f"failover: back after {tally.back_at - tally.killed_at:.1f} s, "
            f"{len(tally.created)} requests and {len(tally.completed)} outcomes kept, "
            f"answers {dict(sorted(tally.statuses.items()))}"
        )
    finally:
        for api in clients:
            await api.client.close()
        for server in servers:
            await server.close()


async def master_named(sentinel: aioredis.Redis) -> int:
    """The port of the master the sentinel names now."""
    _host, port = await sentinel.execute_command(  # type: ignore[no-untyped-call]
        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
    )
    return int(port)


async def test_a_partitioned_master_that_comes_back_serves_no_stale_answer(
    cluster: Cluster,
) -> None:
    """The master is stopped (SIGSTOP: cut off from everyone) with idle connections to it in
    both instances' pools; Sentinel promotes a replica; one instance creates a request on the
    new master; the old master is continued (SIGCONT) and, until Sentinel demotes it, still
    answers as a master with the data it had. At once, the other instance reads the new
    request (200, not a stale 404), a clinician accepts it and files the outcome (200 and 201,
    not 500 or 409), the request created before the partition is still there, and the old
    master ends as a replica with the new data."""
    settings = Settings(
        redis_sentinels=cluster.sentinels,
        redis_service=SERVICE,
        key_prefix="partition:",
        redis_min_replicas=1,
        redis_wait_ms=1000,
        store_deadline_s=3,
        sweep_interval_s=0.2,
    )
    servers = [TestServer(create_app(settings)) for _ in range(2)]
    for server in servers:
        await server.start_server()
    sentinel = aioredis.Redis(port=cluster.sentinel_ports[0], decode_responses=True)
    clients: list[ApiClient] = []
    old_master = cluster.processes["master"]
    try:
        officer = await log_in(servers[0], await create_account(servers[0].app, Role.OFFICER))
        clinician = await log_in(servers[1], await create_account(servers[1].app, Role.CLINICIAN))
        clients += [officer, clinician]
        before = (await new_request(officer))["id"]
        status, _ = await clinician.get(f"/api/v1/requests/{before}")
        assert status == 200
        old_master.send_signal(signal.SIGSTOP)

        async def promoted() -> bool:
            return await master_named(sentinel) != cluster.master_port

        await until(promoted, 20, "Sentinel to promote a replica", cluster.sentinel_events)
        await asyncio.sleep(3 * MASTER_CHECK_S)  # every instance has asked where it is now
        # Until the new master has a replica to confirm a write (redis_min_replicas=1) a create
        # is answered 503; the officer's page then sends it again with the same key, as here.
        key, answers = secrets.token_hex(8), []

        async def created_on_the_new_master() -> bool:
            answer = await officer.post(
                "/api/v1/requests", REQUEST_FORM, headers={"Idempotency-Key": key}
            )
            answers.append(answer)
            return answer[0] in (200, 201)

        await until(created_on_the_new_master, 20, "a create the new master confirms")
        assert {status for status, _ in answers} <= {200, 201, 503}, answers
        created = answers[-1][1]
        old_master.send_signal(signal.SIGCONT)
        # While the old master rejoins, a replica may lag past the write check: a 503 there is
        # asked again (a step with its key), as the clinician's page does; never a stale answer.
        stop_at, rid = time.monotonic() + 20, created["id"]
        status, seen = await read_again(clinician, f"/api/v1/requests/{rid}", stop_at)
        assert status == 200 and seen["status"] == "waiting", (status, seen)
        path = f"/api/v1/requests/{rid}/accept"
        status, accepted = await retried(Tally(), clinician, path, {}, "accept", stop_at)
        assert status == 200, accepted
        path = f"/api/v1/requests/{rid}/outcome"
        status, filed = await retried(Tally(), clinician, path, OUTCOME_FORM, "outcome", stop_at)
        assert status == 201, filed
        status, kept = await read_again(clinician, f"/api/v1/requests/{before}", stop_at)
        assert status == 200 and kept["status"] == "waiting"
        demoted = aioredis.Redis(port=cluster.master_port, decode_responses=True)
        clients_to_close = [demoted]

        async def rejoined() -> bool:
            info = await demoted.info("replication")
            exists = await demoted.exists(f"partition:req:{created['id']}")
            return bool(info["role"] == "slave" and exists)

        await until(rejoined, 20, "the old master to rejoin as a replica with the new data")
        for redis_client in clients_to_close:
            await redis_client.aclose()
    finally:
        if old_master.poll() is None:
            old_master.send_signal(signal.SIGCONT)
        await sentinel.aclose()
        for api in clients:
            await api.client.close()
        for server in servers:
            await server.close()


async def test_a_replica_reached_as_the_master_is_unavailable_not_an_error(
    tmp_path: Path,
) -> None:
    """What a demoted master's pooled connection answers, from a real replica: a script that
    changes nothing, pipelined with `WAIT` (which a replica refuses), and a script that
    writes (refused) are both `read_only`, which the API answers 503 with Retry-After, not
    500."""
    with (
        private_redis.running(tmp_path / "master") as master,
        private_redis.running(
            tmp_path / "replica", "--replicaof", "127.0.0.1", str(master)
        ) as replica,
    ):
        client = aioredis.Redis(port=replica, decode_responses=True)
        store = Store(client, "replica:", min_replicas=1, wait_ms=100)
        try:
            with pytest.raises(aioredis.ResponseError) as waited:
                await store.run("alarm_claim_delivery", 1, "webhook:none", 1000)
            assert unavailable_reason(waited.value) == "read_only", waited.value
            with pytest.raises(aioredis.ResponseError) as wrote:
                await store.run("presence", 1, "on_duty", "")
            assert unavailable_reason(wrote.value) == "read_only", wrote.value
        finally:
            await client.aclose()
