"""Durability: acknowledged writes survive `kill -9` of the embedded Redis (AOF, fsync always)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import (
    FROZEN_STORE_DEADLINE_S,
    OUTCOME_FORM,
    REQUEST_FORM,
    ApiClient,
    create_account,
    in_session,
    log_in,
    new_request,
)
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store.embedded import EmbeddedRedis
from triage_service.web.app import create_app


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[list[EmbeddedRedis]]:
    """A list to put embedded Redis servers in; each is stopped after the test."""
    started: list[EmbeddedRedis] = []
    yield started
    for server in started:
        await server.stop()


class Instance:
    """One app instance on a real HTTP server, against the Redis at `url`."""

    def __init__(self, url: str) -> None:
        settings = Settings(redis_url=url, key_prefix="durable:", sweep_interval_s=0.1)
        self.server = TestServer(create_app(settings))
        self.clients: list[ApiClient] = []

    async def __aenter__(self) -> Instance:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients:
            await client.client.close()
        await self.server.close()

    async def log_in(self, user: User) -> ApiClient:
        """A client signed in as `user`."""
        client = await log_in(self.server, user)
        self.clients.append(client)
        return client


async def test_acknowledged_writes_survive_kill_9(
    tmp_path: Path, embedded: list[EmbeddedRedis]
) -> None:
    """The embedded server runs with `appendonly yes` and `appendfsync always` (read back from
    the server itself), and every acknowledged request, message, outcome and referral is
    there after kill -9."""
    first = EmbeddedRedis(tmp_path)
    embedded.append(first)
    url = await first.start()
    assert first.process is not None
    server_config = aioredis.Redis.from_url(url, decode_responses=True)
    found = await server_config.config_get("append*")
    assert (found["appendonly"], found["appendfsync"]) == ("yes", "always")
    await server_config.aclose()
    async with Instance(url) as old:
        officer_user = await create_account(old.server.app, Role.OFFICER)
        clinician_user = await create_account(old.server.app, Role.CLINICIAN)
        officer, clinician = await old.log_in(officer_user), await old.log_in(clinician_user)
        waiting = []
        for i in range(3):
            waiting.append(await new_request(officer, notes=f"request {i}"))
            await asyncio.sleep(0.005)  # distinct arrival times: a defined service order
        cancelled = await new_request(officer)
        await officer.post(f"/api/v1/requests/{cancelled['id']}/cancel")
        completed = await in_session(officer, clinician)
        status, message = await officer.post(
            f"/api/v1/requests/{completed['id']}/messages", {"text": "acknowledged message"}
        )
        assert status == 201, message
        status, filed = await clinician.post(
            f"/api/v1/requests/{completed['id']}/outcome", OUTCOME_FORM
        )
        assert status == 201, filed
        last = await new_request(officer, notes="the last write before the crash")

        os.kill(first.process.pid, signal.SIGKILL)
        await first.process.wait()

        async with (
            aiohttp.ClientSession() as probe,
            probe.get(old.server.make_url("/healthz")) as r,
        ):
            assert r.status == 503
            assert await r.json() == {"status": "degraded", "redis": "unreachable"}
        status, body = await officer.get("/healthz")
        assert status == 503, "a signed-in caller's session lookup fails first, also 503"
        status, body = await officer.get(f"/api/v1/requests/{last['id']}")
        assert status == 503 and body["error"]["code"] == "unavailable"
        async with officer.client.post(
            "/api/v1/requests", json=REQUEST_FORM, headers={"X-CSRF-Token": officer.csrf}
        ) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "1"

        second = EmbeddedRedis(tmp_path)
        embedded.append(second)
        started = time.monotonic()
        assert await second.start() == url
        assert time.monotonic() - started < 2, "a stale socket must not delay the restart"
        assert second.process is not None and second.process.pid != first.process.pid
        status, body = await officer.get("/healthz")
        assert status == 200, "the running instance reconnects by itself"

        async with Instance(url) as new:
            officer = await new.log_in(officer_user)
            clinician = await new.log_in(clinician_user)
            for request in [*waiting, last]:
                status, seen = await officer.get(f"/api/v1/requests/{request['id']}")
                assert status == 200, seen
                assert seen["status"] == "waiting" and seen["notes"] == request["notes"]
                assert seen["created_at"] == request["created_at"]
            _, seen = await officer.get(f"/api/v1/requests/{cancelled['id']}")
            assert seen["status"] == "cancelled"
            _, seen = await clinician.get(f"/api/v1/requests/{completed['id']}")
            assert seen["status"] == "completed"
            assert seen["outcome"]["summary"] == OUTCOME_FORM["summary"]
            assert seen["outcome"]["disposition"] == OUTCOME_FORM["disposition"]
            assert seen["completed_at"] == filed["request"]["completed_at"]
            _, chat = await clinician.get(f"/api/v1/requests/{completed['id']}/messages")
            assert [m["text"] for m in chat["messages"]] == ["acknowledged message"]
            _, referrals = await clinician.get("/api/v1/referrals?status=open")
            assert [r["id"] for r in referrals["referrals"]] == [filed["referral"]["id"]]
            _, queue = await clinician.get("/api/v1/queue")
            assert [i["id"] for i in queue["waiting"]] == [r["id"] for r in [*waiting, last]]
            status, next_one = await clinician.post("/api/v1/queue/next")
            assert status == 200 and next_one["id"] == waiting[0]["id"]


async def test_a_store_that_stops_answering_gives_503_then_recovers(
    tmp_path: Path, embedded: list[EmbeddedRedis]
) -> None:
    """A frozen Redis (SIGSTOP) is answered with 503 after the deadline, not a hang; once it
    runs again the same instance serves requests."""
    frozen = EmbeddedRedis(tmp_path)
    embedded.append(frozen)
    url = await frozen.start()
    assert frozen.process is not None
    deadline_s = FROZEN_STORE_DEADLINE_S
    settings = Settings(redis_url=url, key_prefix="frozen:", store_deadline_s=deadline_s)
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        officer = await log_in(server, await create_account(server.app, Role.OFFICER))
        os.kill(frozen.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            status, body = await officer.post("/api/v1/requests", REQUEST_FORM)
            took = time.monotonic() - started
        finally:
            os.kill(frozen.process.pid, signal.SIGCONT)
        assert status == 503 and body["error"]["code"] == "unavailable"
        assert deadline_s - 0.1 < took < deadline_s + 4
        status, created = await officer.post("/api/v1/requests", REQUEST_FORM)
        assert status == 201 and created["status"] == "waiting"
        await officer.client.close()
    finally:
        await server.close()
