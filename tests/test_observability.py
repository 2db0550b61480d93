"""What operations see: every answer counted in /metrics with its real status, one access
log line per request without personal data, and Retry-After on every 503."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from conftest import FROZEN_STORE_DEADLINE_S, ApiClient, create_account, log_in
from live_server import free_port
from triage_client.forms import request_form
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.store.embedded import find_redis_server
from triage_service.web.access import access_log_options
from triage_service.web.app import create_app


def counted(metrics_text: str, method: str, route: str, status: int) -> float:
    """The `triage_http_requests_total` value for one method, route pattern and status."""
    pattern = (
        rf'^triage_http_requests_total\{{method="{method}",route="{re.escape(route)}",'
        rf'status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, metrics_text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_error_answers_are_counted_with_their_status(
    sign_in: object, anonymous: ApiClient
) -> None:
    """A 404, a 409 and a 422 raised inside views appear in /metrics with those statuses."""
    officer = await sign_in("officer")  # type: ignore[operator]
    created = (await officer.post("/api/v1/requests", request_form()))[1]
    assert (await officer.get("/api/v1/requests/nope"))[0] == 404
    assert (await officer.post(f"/api/v1/requests/{created['id']}/cancel"))[0] == 200
    assert (await officer.post(f"/api/v1/requests/{created['id']}/cancel"))[0] == 409
    assert (await officer.post("/api/v1/requests", {"urgency": "soon"}))[0] == 422
    assert (await anonymous.get("/api/v1/me"))[0] == 401
    async with anonymous.client.get("/metrics") as r:
        text = await r.text()
    assert counted(text, "GET", "/api/v1/requests/{id}", 404) == 1
    assert counted(text, "POST", "/api/v1/requests/{id}/cancel", 409) == 1
    assert counted(text, "POST", "/api/v1/requests", 422) == 1
    assert counted(text, "GET", "/api/v1/me", 401) == 1


async def test_access_log_line_has_no_query_cookie_or_body(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """One line per request: method, path without query, status, size, time and the id
    also returned in X-Request-Id; never the query string, the cookie or the body."""
    caplog.set_level(logging.INFO, logger="triage_service.access")
    app = create_app(settings)
    server = TestServer(app)
    await server.start_server(**access_log_options(settings))
    officer = await log_in(server, await create_account(app, Role.OFFICER))
    caplog.clear()
    try:
        async with officer.client.get("/api/v1/requests?scope=mine&name=Jane") as r:
            assert r.status == 200
            request_id = r.headers["X-Request-Id"]
        status, _ = await officer.post("/api/v1/requests", request_form())
        assert status == 201
        await asyncio.sleep(0.05)  # the line is written after the answer is sent
    finally:
        await officer.client.close()
        await server.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "triage_service.access"]
    assert len(lines) == 2, lines
    assert re.fullmatch(rf"GET /api/v1/requests 200 \d+B \d+\.\dms id={request_id}", lines[0])
    assert lines[1].startswith("POST /api/v1/requests 201 ")
    cookie = next(iter(officer.client.session.cookie_jar)).value
    for line in lines:
        for secret in ("?", "scope", "Jane", cookie, "PS-2026", "Buchanan", officer.csrf):
            assert secret not in line


def test_access_log_can_be_turned_off() -> None:
    """`--no-access-log` or TRIAGE_ACCESS_LOG=false turn the access log off; it is on by default."""
    assert Settings.from_env({}).access_log is True
    assert Settings.from_env({}, argv=["--no-access-log"]).access_log is False
    assert Settings.from_env({"TRIAGE_ACCESS_LOG": "false"}).access_log is False
    assert access_log_options(Settings(access_log=False)) == {"access_log": None}


@pytest.fixture
async def own_redis() -> AsyncIterator[tuple[subprocess.Popen[bytes], int]]:
    """A redis-server of the test's own on a free port (to be stopped or killed by it)."""
    port = free_port()
    process = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    yield process, port
    process.send_signal(signal.SIGCONT)
    process.kill()
    process.wait()


async def test_every_503_carries_retry_after(
    own_redis: tuple[subprocess.Popen[bytes], int],
) -> None:
    """With the store frozen (SIGSTOP) and then gone (kill -9), /healthz, the console page
    and the API answer 503 with Retry-After."""
    process, port = own_redis
    url = f"redis://127.0.0.1:{port}/0"
    settings = Settings(redis_url=url, store_deadline_s=FROZEN_STORE_DEADLINE_S)
    app = create_app(settings)
    server = TestServer(app)
    await asyncio.sleep(0.3)  # the server binds its port
    await server.start_server()
    clinician = await log_in(server, await create_account(app, Role.CLINICIAN))
    try:
        async with clinician.client.get("/console") as r:
            assert r.status == 200
        process.send_signal(signal.SIGSTOP)
        await expect_503s(clinician.client)
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait()
        await expect_503s(clinician.client)
    finally:
        await clinician.client.close()
        await server.close()


async def expect_503s(client: TestClient[Any, Any]) -> None:
    """/healthz, /console, /api/v1/me and sign-in each answer 503 with a Retry-After header
    (asked at once: against a frozen store each waits out the deadline)."""

    async def answered(method: str, path: str, body: dict[str, str] | None = None) -> None:
        async with client.request(method, path, json=body, allow_redirects=False) as r:
            assert r.status == 503, (path, r.status)  # sign-in's store calls keep the deadline
            assert int(r.headers["Retry-After"]) > 0, path

    credentials = {"username": "nobody", "password": "long enough"}
    async with asyncio.timeout(30):
        await asyncio.gather(
            *(answered("GET", path) for path in ("/healthz", "/console", "/api/v1/me")),
            answered("POST", "/api/v1/login", credentials),
        )
