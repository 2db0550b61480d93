"""Presence and the live channel under faults: a connected clinician is never dropped, a
vanished one always is; pushes resume after a Redis restart; a full or restarted Redis is
answered 503, never 500."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    PASSWORD,
    REQUEST_FORM,
    SignInFactory,
    create_account,
    in_session,
    log_in,
    new_request,
    wait_until,
)
from live_server import free_port
from support.commands import start_instance
from support.sockets import connect
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.live.hub import Hub
from triage_service.service import presence
from triage_service.settings import Settings
from triage_service.store import EmbeddedRedis, Store, find_redis_server
from triage_service.web.app import create_app
from triage_service.web.state import HUB, STORE

# A one-second grace period, two-second leases and a fast sweeper.
FAST = pytest.mark.settings(clinician_grace_s=1, presence_lease_s=2, sweep_interval_s=0.1)


async def grace_pending(client: aioredis.Redis, prefix: str, user_id: str) -> bool:
    """Whether the clinician's grace timer is set."""
    return await client.zscore(prefix + "due", f"grace:{user_id}") is not None


# A three-second grace: a hop's old socket may start the timer before its new one cancels it
# (both sockets are served in this test's one process), and on a loaded machine one second
# between the two has been seen; the production grace is a minute.
@pytest.mark.settings(clinician_grace_s=3, presence_lease_s=2, sweep_interval_s=0.1)
async def test_overlapping_hops_across_two_instances_never_release(
    server: TestServer,
    second_server: TestServer,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """100 hops of a clinician's socket between two instances, the new socket opening while
    the old one closes, never start the grace timer for good nor release the session."""
    officer = await log_in(server, await create_account(server.app, Role.OFFICER))
    user = await create_account(server.app, Role.CLINICIAN)
    on_a, on_b = await log_in(server, user), await log_in(second_server, user)

    async def one_lease() -> bool:
        return await redis_client.zcard(f"{key_prefix}presence:{user.id}") == 1

    try:
        current = await connect(on_a)
        record = await in_session(officer, on_a)
        for hop in range(100):
            target = on_b if hop % 2 == 0 else on_a
            opened, _ = await asyncio.gather(connect(target), current.close())
            current = opened
            assert not await grace_pending(redis_client, key_prefix, user.id), f"hop {hop}"
        await asyncio.sleep(3.5)  # longer than the grace period
        _, after = await officer.get(f"/api/v1/requests/{record['id']}")
        assert after["status"] == "in_session"
        # Each closed socket's lease is dropped once its handler has finished (on a loaded
        # machine, a moment after the client saw the close): one lease is left, the last.
        await wait_until(one_lease, timeout=10)
        await current.close()
    finally:
        for api in (officer, on_a, on_b):
            await api.client.close()


async def test_lapsed_leases_start_the_grace_timer_exactly_once(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A lease that is not renewed lapses; five sweeps racing then start the grace timer
    once, and a renewal (the instance was only stalled) cancels it. (A store of its own, no
    app: no sweeper on the wall clock interferes with the test's clock.)"""
    store, settings = (
        Store(redis_client, key_prefix),
        Settings(clinician_grace_s=1, presence_lease_s=2, sweep_interval_s=0.1),
    )
    user = User(id="c1", username="c1", display_name="C One", role=Role.CLINICIAN)
    now = 1_000_000
    await presence.clinician_connected(store, settings, user, "lease-1", now_ms=now)
    assert await presence.reap_lapsed_leases(store, settings, now_ms=now + 1_000) == []
    lapsed = now + 2_001
    graced = await asyncio.gather(
        *(presence.reap_lapsed_leases(store, settings, now_ms=lapsed) for _ in range(5))
    )
    assert sorted(u for found in graced for u in found) == [user.id]
    due = await redis_client.zscore(f"{key_prefix}due", f"grace:{user.id}")
    assert due == lapsed + 1_000
    await presence.renew_leases(store, settings, [(user.id, "lease-1")], now_ms=lapsed + 10)
    assert not await grace_pending(redis_client, key_prefix, user.id)


@FAST
async def test_failed_socket_set_up_leaks_no_socket(
    server: TestServer, sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """When taking the presence lease fails, the socket is closed and forgotten: no entry is
    left in the hub and the open-socket gauge is back to zero."""
    clinician = await sign_in("clinician")
    await redis_client.set(f"{key_prefix}presence:{clinician.user.id}", "not a sorted set")
    origin = str(clinician.client.make_url("/")).rstrip("/")
    ws = await clinician.client.ws_connect("/ws", headers={"Origin": origin})
    message = await ws.receive(timeout=5)
    while message.type is aiohttp.WSMsgType.TEXT:  # a broadcast sent before the lease failed
        message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1011
    await ws.close()
    hub = server.app[HUB]
    await wait_until(lambda: no_socket(hub), timeout=3)
    assert hub.held_leases() == []


@pytest.mark.settings(clinician_grace_s=60, presence_lease_s=3, sweep_interval_s=0.1)
async def test_a_renewal_in_flight_when_the_socket_closes_does_not_bring_its_lease_back(
    server: TestServer, sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """The instance's renewal read the clinician's lease just before the socket closed and
    reaches the store after the close: the lease stays dropped and the grace timer the close
    started keeps running (the renewal is held back here until the close has happened). A
    lease brought back would only go at its lapse, three seconds later here, fifteen in
    service."""
    clinician = await sign_in("clinician")
    origin = str(clinician.client.make_url("/")).rstrip("/")
    ws = await clinician.client.ws_connect("/ws", headers={"Origin": origin})
    presence_store, hub = server.app[STORE].presence, server.app[HUB]
    hold, in_flight, go_on, landed = (presence_store.hold, *(asyncio.Event() for _ in range(3)))

    async def held_back(*args: Any, **kwargs: Any) -> None:
        in_flight.set()
        await go_on.wait()
        await hold(*args, **kwargs)
        landed.set()

    await wait_until(lambda: has_lease(hub), timeout=3)
    presence_store.hold = held_back  # type: ignore[method-assign]
    await asyncio.wait_for(in_flight.wait(), timeout=3)  # a renewal holding the lease
    await ws.close()
    await wait_until(lambda: no_socket(hub), timeout=3)
    await asyncio.sleep(0.2)  # without the turns, the drop lands here
    go_on.set()
    await asyncio.wait_for(landed.wait(), timeout=3)
    leases = f"{key_prefix}presence:{clinician.user.id}"

    async def dropped_and_graced() -> bool:
        pending = await grace_pending(redis_client, key_prefix, clinician.user.id)
        return pending and await redis_client.zcard(leases) == 0

    await wait_until(dropped_and_graced, timeout=1)


async def has_lease(hub: Hub) -> bool:
    return bool(hub.held_leases())


async def no_socket(hub: Hub) -> bool:
    return not hub.users


@pytest.mark.settings(
    clinician_grace_s=1, presence_lease_s=2, sweep_interval_s=0.1, ws_heartbeat_s=1.0
)
async def test_a_silent_socket_is_closed_and_its_lease_dropped_within_the_heartbeat(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A client that stops answering pings (a dead TCP connection) is noticed: the server
    closes the socket within 1.5 heartbeats and the clinician's grace timer starts."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    origin = str(clinician.client.make_url("/")).rstrip("/")
    ws = await clinician.client.ws_connect("/ws", headers={"Origin": origin}, autoping=False)
    await in_session(officer, clinician)
    took = await wait_until(
        lambda: grace_pending(redis_client, key_prefix, clinician.user.id), timeout=5
    )
    assert took < 3
    await ws.close()


@FAST
async def test_killed_instance_releases_its_clinician_after_lease_and_grace(
    server: TestServer, key_prefix: str, serve_process: list[subprocess.Popen[bytes]]
) -> None:
    """kill -9 of the instance holding a clinician's only socket: its lease lapses and the
    other instance releases the session (back to the queue) after lease TTL + grace."""
    port = free_port()
    serve_process.append(await start_instance(port, key_prefix))
    officer = await log_in(server, await create_account(server.app, Role.OFFICER))
    user = await create_account(server.app, Role.CLINICIAN)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(
            f"{base}/api/v1/login", json={"username": user.username, "password": PASSWORD}
        ) as r:
            csrf = (await r.json())["csrf_token"]
        ws = await http.ws_connect(f"{base}/ws", headers={"Origin": base})
        created = await new_request(officer)
        async with http.post(
            f"{base}/api/v1/requests/{created['id']}/accept", headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 200
        serve_process[0].send_signal(signal.SIGKILL)
        serve_process[0].wait(timeout=10)
        killed = time.monotonic()

        async def released() -> bool:
            _, record = await officer.get(f"/api/v1/requests/{created['id']}")
            return bool(record["status"] == "waiting")

        await wait_until(released, timeout=10)
        took = time.monotonic() - killed
        await ws.close()
    assert 1.0 <= took <= 2 + 1 + 3, took  # lease 2 s + grace 1 s, plus sweeps and slack
    await officer.client.close()


async def test_pushes_resume_after_a_redis_restart(tmp_path: Path) -> None:
    """kill -9 of Redis under an open socket: once Redis is back every socket is told to
    resync, and the next change is pushed again (an accept reaches the waiting officer)."""
    redis_server = EmbeddedRedis(tmp_path)
    url = await redis_server.start()
    settings = Settings(redis_url=url, key_prefix="restart:", sweep_interval_s=0.1)
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        officer = await log_in(server, await create_account(server.app, Role.OFFICER))
        clinician = await log_in(server, await create_account(server.app, Role.CLINICIAN))
        created = await new_request(officer)
        watching = await connect(officer)
        assert redis_server.process is not None
        redis_server.process.kill()
        await redis_server.process.wait()
        redis_server = EmbeddedRedis(tmp_path)
        await redis_server.start()
        await watching.wait_for("resync", timeout=5)
        status, _ = await clinician.post(f"/api/v1/requests/{created['id']}/accept")
        assert status == 200
        await watching.wait_for("request.updated", timeout=3, status="in_session")
        await watching.close()
        for api in (officer, clinician):
            await api.client.close()
    finally:
        await server.close()
        await redis_server.stop()


@pytest.fixture
async def own_redis() -> AsyncIterator[str]:
    """A private redis-server on a free port (no persistence)."""
    port = free_port()
    process = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = aioredis.Redis.from_url(url)
    for _ in range(100):
        with contextlib.suppress(aioredis.ConnectionError):
            await client.ping()
            break
        await asyncio.sleep(0.05)
    await client.aclose()
    yield url
    process.kill()
    process.wait(timeout=10)


async def fill_up(url: str) -> None:
    """Make Redis full: its memory limit set below what it already holds (noeviction), so
    it refuses every write that may use memory, as a full server does."""
    client = aioredis.Redis.from_url(url)
    await client.config_set("maxmemory-policy", "noeviction")
    await client.config_set("maxmemory", 1)
    await client.aclose()


async def test_a_full_redis_is_answered_503_and_reported_by_healthz(own_redis: str) -> None:
    """With Redis out of memory, sign-in, create, accept and outcome answer 503 with
    Retry-After (never 500), and /healthz says why."""
    settings = Settings(redis_url=own_redis, key_prefix="full:", sweep_interval_s=0.1)
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        officer = await log_in(server, await create_account(server.app, Role.OFFICER))
        clinician = await log_in(server, await create_account(server.app, Role.CLINICIAN))
        colleague = await log_in(server, await create_account(server.app, Role.CLINICIAN))
        waiting = await new_request(officer)
        session = await in_session(officer, clinician)
        late = await create_account(server.app, Role.OFFICER)
        await fill_up(own_redis)
        answers = [
            await officer.post("/api/v1/requests", REQUEST_FORM),
            await colleague.post(f"/api/v1/requests/{waiting['id']}/accept"),
            await clinician.post(f"/api/v1/requests/{session['id']}/outcome", OUTCOME_FORM),
        ]
        for status, body in answers:
            assert status == 503 and body["error"]["code"] == "unavailable", body
        async with aiohttp.ClientSession() as http:
            async with http.post(
                server.make_url("/api/v1/login"),
                json={"username": late.username, "password": PASSWORD},
            ) as r:
                assert r.status == 503 and r.headers["Retry-After"]
            async with http.get(server.make_url("/healthz")) as r:
                assert r.status == 503 and (await r.json())["redis"] == "out_of_memory"
        for api in (officer, clinician, colleague):
            await api.client.close()
    finally:
        await server.close()


async def test_stale_pooled_connections_are_retried_after_a_redis_restart(
    tmp_path: Path,
) -> None:
    """After a Redis restart, a burst of requests over the pool's broken connections all
    succeed (one quick retry on a fresh connection), none is answered 503."""
    redis_server = EmbeddedRedis(tmp_path)
    url = await redis_server.start()
    settings = Settings(redis_url=url, key_prefix="stale:", store_deadline_s=2)
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        officer = await log_in(server, await create_account(server.app, Role.OFFICER))
        await new_request(officer)
        await asyncio.gather(*(officer.get("/api/v1/requests") for _ in range(10)))
        assert redis_server.process is not None
        redis_server.process.kill()
        await redis_server.process.wait()
        redis_server = EmbeddedRedis(tmp_path)
        await redis_server.start()
        for _ in range(3):
            started = time.monotonic()
            answers = await asyncio.gather(*(officer.get("/api/v1/requests") for _ in range(10)))
            assert [status for status, _ in answers] == [200] * 10
            assert time.monotonic() - started < 1.5
        await officer.client.close()
    finally:
        await server.close()
        await redis_server.stop()
