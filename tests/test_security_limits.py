"""Slow clients and per-user limits: a slow head is dropped, a slow body is 408, and a
user's requests and chat messages per minute are capped (429 with Retry-After)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import REQUEST_FORM, SignInFactory, in_session
from triage_service.settings import Settings
from triage_service.web.app import create_app, server_options


@pytest.fixture
async def tuned(settings: Settings, redis_client: aioredis.Redis) -> AsyncIterator[TestServer]:
    """The app served with the same aiohttp options `serve` uses."""
    server = TestServer(create_app(settings))
    await server.start_server(keepalive_timeout=server_options(settings)["keepalive_timeout"])
    yield server
    await server.close()


@pytest.mark.settings(header_timeout_s=0.5)
async def test_slow_request_head_is_dropped(tuned: TestServer) -> None:
    """A connection that never finishes its request head is closed after header_timeout_s."""
    reader, writer = await asyncio.open_connection(tuned.host, tuned.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    async with asyncio.timeout(3):
        assert await reader.read() == b""
    writer.close()


@pytest.mark.settings(body_timeout_s=0.3)
async def test_slow_body_is_408(tuned: TestServer) -> None:
    """A body that stops arriving is answered 408 request_timeout, not 503."""
    reader, writer = await asyncio.open_connection(tuned.host, tuned.port)
    writer.write(
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"username"'
    )
    await writer.drain()
    async with asyncio.timeout(3):
        status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"408", status_line


@pytest.mark.settings(requests_per_minute=3)
async def test_requests_per_minute_are_capped(sign_in: SignInFactory) -> None:
    """An officer's fourth request in a minute is 429 with Retry-After; others are not
    affected."""
    officer, other = await sign_in("officer"), await sign_in("officer")
    for _ in range(3):
        assert (await officer.post("/api/v1/requests", REQUEST_FORM))[0] == 201
    async with officer.client.post(
        "/api/v1/requests", json=REQUEST_FORM, headers={"X-CSRF-Token": officer.csrf}
    ) as r:
        assert r.status == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert (await other.post("/api/v1/requests", REQUEST_FORM))[0] == 201


@pytest.mark.settings(messages_per_minute=5)
async def test_messages_per_minute_are_capped_atomically(sign_in: SignInFactory) -> None:
    """Twenty messages sent at once by one user: exactly five are stored, the rest 429."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    record = await in_session(officer, clinician)
    path = f"/api/v1/requests/{record['id']}/messages"
    results = await asyncio.gather(*(officer.post(path, {"text": f"m{i}"}) for i in range(20)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [429] * 15
    assert (await clinician.post(path, {"text": "still here"}))[0] == 201
