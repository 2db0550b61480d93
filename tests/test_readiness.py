"""GET /readyz: ready only when this instance should be sent traffic; otherwise 503 naming
every failing part (draining, redis, pubsub, tasks, replicas). /healthz stays liveness."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import private_redis
import pytest
from aiohttp.test_utils import TestClient, TestServer

from conftest import ApiClient
from triage_client.client import ANONYMOUS
from triage_service.settings import Settings
from triage_service.tasks import Supervisor
from triage_service.web.app import create_app
from triage_service.web.state import DRAINING, TASKS


async def readiness(anonymous: ApiClient) -> tuple[int, dict[str, Any]]:
    """The status and body of GET /readyz."""
    status, body = await anonymous.get("/readyz")
    return status, body


async def eventually(anonymous: ApiClient, want: int, timeout: float = 10.0) -> dict[str, Any]:
    """Poll /readyz until it answers `want`; its body."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await readiness(anonymous)
        if status == want:
            return body
        assert time.monotonic() < deadline, (status, body)
        await asyncio.sleep(0.05)


@pytest.fixture
async def client_of(settings: Settings) -> AsyncIterator[Any]:
    """Factory: an app with `settings` changes on a real server, and an anonymous client."""
    servers: list[TestClient[Any, Any]] = []

    async def start(**changes: Any) -> ApiClient:
        app = create_app(dataclasses.replace(settings, **changes))
        app[TASKS] = Supervisor(backoff_s=0.01, max_backoff_s=0.01, limit=3)
        client = TestClient(TestServer(app))
        await client.start_server()
        servers.append(client)
        return ApiClient(client, ANONYMOUS, "")

    yield start
    for client in servers:
        await client.close()


async def test_ready_when_every_part_works(anonymous: ApiClient) -> None:
    """A started instance is ready: Redis writable, pub/sub subscribed, no failing task."""
    body = await eventually(anonymous, 200)
    assert body == {"status": "ready", "failing": [], "redis": "ok", "failing_tasks": []}


async def test_draining_is_not_ready_but_alive(anonymous: ApiClient) -> None:
    """Once draining, /readyz answers 503 `draining` (with Retry-After) while /healthz
    still answers 200 and the API still serves."""
    await eventually(anonymous, 200)
    anonymous.client.app[DRAINING].set()
    status, body = await readiness(anonymous)
    assert status == 503 and body["failing"] == ["draining"]
    assert (await anonymous.get("/healthz"))[0] == 200
    assert (await anonymous.get("/api/v1/openapi.json"))[0] == 200


async def test_a_task_that_keeps_dying_is_not_ready(client_of: Any) -> None:
    """A background loop that dies again and again makes the instance not ready (`tasks`,
    naming it)."""
    client = await client_of()
    await eventually(client, 200)

    async def doomed() -> None:
        raise RuntimeError("dies at once")

    task = client.client.app[TASKS].start("doomed", doomed)
    try:
        body = await eventually(client, 503)
        assert body["failing"] == ["tasks"] and body["failing_tasks"] == ["doomed"]
    finally:
        task.cancel()


async def test_too_few_replicas_is_not_ready(client_of: Any) -> None:
    """With `redis_min_replicas=1` and a Redis that has no replica: 503 `replicas`, 0 of 1."""
    client = await client_of(redis_min_replicas=1)
    body = await eventually(client, 503)
    assert body["failing"] == ["replicas"] and body["replicas"] == 0


@pytest.mark.slow  # stops a Redis of its own
async def test_redis_down_then_back(client_of: Any, tmp_path: Path) -> None:
    """A private Redis with one replica: ready (1 replica); the master stopped: 503 naming
    redis and pubsub; started again on the same port and data: ready again."""
    process, port = private_redis.start(tmp_path / "master", "--appendonly", "yes")
    replica, _ = private_redis.start(tmp_path / "replica", "--replicaof", "127.0.0.1", str(port))
    try:
        client = await client_of(redis_url=f"redis://127.0.0.1:{port}/0", redis_min_replicas=1)
        body = await eventually(client, 200)
        assert body["replicas"] == 1
        private_redis.stop(process)
        body = await eventually(client, 503)
        assert "redis" in body["failing"] and body["redis"] == "unreachable"
        body = await eventually(client, 503)
        deadline = time.monotonic() + 10
        while "pubsub" not in body["failing"] and time.monotonic() < deadline:
            body = await eventually(client, 503)
        assert body["failing"][:2] == ["redis", "pubsub"]
        process, _ = private_redis.start(tmp_path / "master", "--appendonly", "yes", port=port)
        assert (await eventually(client, 200, timeout=20))["replicas"] == 1
    finally:
        private_redis.stop(replica)
        private_redis.stop(process)
