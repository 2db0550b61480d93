"""A stalled store (its redis-server stopped with SIGSTOP for longer than a presence lease):
connected clinicians are not counted as gone once it answers again, so no session is
released, no one is set offline, no false critical alarm is raised and no officer is told
that nobody is on duty."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from private_redis import start, stop

from conftest import ApiClient, create_account, in_session, log_in, new_request
from support.sockets import Socket, connect
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.web.app import create_app

LEASE_S, GRACE_S = 2, 1
STALL_S = LEASE_S + 1.5


@pytest.fixture
async def stalled_redis(tmp_path: Path) -> AsyncIterator[tuple[subprocess.Popen[bytes], int]]:
    """A private redis-server the test may stop and continue; the process and its port."""
    process, port = start(tmp_path / "redis")
    yield process, port
    os.kill(process.pid, signal.SIGCONT)
    stop(process)


async def on_duty(api: ApiClient) -> Socket:
    """A clinician with the live channel open, available."""
    socket = await connect(api)
    status, _ = await api.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200
    return socket


def nobody_on_duty(message: dict[str, Any]) -> bool:
    """Whether a push told the officer that no clinician is on duty."""
    request = message.get("request")
    return isinstance(request, dict) and request.get("clinicians_on_duty") == 0


async def test_a_stall_longer_than_the_lease_drops_no_connected_clinician(
    stalled_redis: tuple[subprocess.Popen[bytes], int],
) -> None:
    """Three clinicians connected throughout (one in session), a request waiting, its officer
    and a supervisor watching; Redis stopped for lease + 1.5 s, then continued. Over the
    next lease + grace + 1 s: the session is still in session with its clinician, every
    clinician keeps their availability, no `no_clinician_on_duty` alarm exists, and the
    officer was never pushed "nobody on duty"."""
    redis_server, port = stalled_redis
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{port}/0",
        key_prefix="stall:",
        presence_lease_s=LEASE_S,
        clinician_grace_s=GRACE_S,
        sweep_interval_s=0.1,
        store_deadline_s=1,
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    clients: list[ApiClient] = []
    sockets: list[Socket] = []
    try:
        for role in (Role.OFFICER, Role.SUPERVISOR, *[Role.CLINICIAN] * 3):
            clients.append(await log_in(server, await create_account(server.app, role)))
        officer, supervisor, *clinicians = clients
        sockets += [await on_duty(clinician) for clinician in clinicians]
        session = await in_session(officer, clinicians[0])
        waiting = await new_request(officer)
        sockets.append(officer_socket := await connect(officer))
        await asyncio.sleep(0.5)
        assert not any(nobody_on_duty(m) for m in officer_socket.messages)
        os.kill(redis_server.pid, signal.SIGSTOP)
        await asyncio.sleep(STALL_S)
        os.kill(redis_server.pid, signal.SIGCONT)
        await asyncio.sleep(LEASE_S + GRACE_S + 1)
        _, record = await officer.get(f"/api/v1/requests/{session['id']}")
        assert record["status"] == "in_session", record["status"]
        assert record["clinician"]["id"] == clinicians[0].user.id
        for clinician, expected in zip(clinicians, ("busy", "available", "available"), strict=True):
            _, availability = await clinician.get("/api/v1/availability")
            assert availability["status"] == expected
        _, alarms = await supervisor.get("/api/v1/alarms?status=all")
        assert [a["kind"] for a in alarms["alarms"]] == []
        _, still = await officer.get(f"/api/v1/requests/{waiting['id']}")
        assert still["clinicians_on_duty"] == 3 and still["fallback"] is None
        assert not [m for m in officer_socket.messages if nobody_on_duty(m)]
    finally:
        for socket in sockets:
            await socket.close()
        for api in clients:
            await api.client.close()
        await server.close()
