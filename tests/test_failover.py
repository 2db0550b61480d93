"""High availability: two instances on Redis Sentinel (one master, two replicas, three
sentinels, real redis-server processes); `kill -9` of the master under load loses no
acknowledged request or outcome, never answers 500, and the service is back within 15 s."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, REQUEST_FORM, ApiClient, create_account, log_in
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.store import find_redis_server
from triage_service.web.app import create_app

SERVICE = "triage"
BACK_WITHIN_S = 15.0


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
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sentinels(self) -> str:
        """The `redis_sentinels` setting for this cluster."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)


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


async def until(check: object, timeout: float, what: str) -> None:
    """Poll the async `check()` until it is true or fail with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aioredis.RedisError, OSError):
            if await check():  # type: ignore[operator]
                return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """One master, two replicas (AOF, fsync always) and three sentinels, all in sync."""
    ports = [free_port() for _ in range(6)]
    master, replicas, sentinel_ports = ports[0], ports[1:3], ports[3:]
    found = Cluster(master, sentinel_ports)
    durable = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--repl-diskless-sync-delay",
        "0",
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


async def one_pair(tally: Tally, officer: ApiClient, clinician: ApiClient, stop_at: float) -> None:
    """Requests, accepts and outcomes in a loop until `stop_at`, recording what was
    acknowledged."""
    while time.monotonic() < stop_at:
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
        reader = await log_in(servers[0], await create_account(servers[0].app, Role.SUPERVISOR))
        clients.append(reader)
        for rid in tally.created:
            status, record = await reader.get(f"/api/v1/requests/{rid}")
            assert status == 200, (rid, status)
        for rid in tally.completed:
            _, record = await reader.get(f"/api/v1/requests/{rid}")
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
