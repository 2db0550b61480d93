"""Crashes mid-transition: an instance killed (`kill -9`) at the moment a state change becomes
visible in Redis leaves nothing half-done (real `triage-service serve` processes, a private
redis-server)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from private_redis import running

from live_server import free_port
from support.commands import start_instance
from triage_client.forms import REQUEST_FORM
from triage_service.domain.codes import Availability, Role
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.service.timers import sweep_due
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.base import entry

PREFIX = "crash:"
SESSIONS = 60


@pytest.fixture
async def notifying_redis(tmp_path: Path) -> AsyncIterator[str]:
    """A private redis-server that publishes keyspace events of sorted sets (`Kz`)."""
    with running(tmp_path / "redis", "--notify-keyspace-events", "Kz") as port:
        yield f"redis://127.0.0.1:{port}/0"


async def clinicians_in_session(store: Store, count: int, *, now_ms: int) -> list[User]:
    """`count` clinician accounts, each with one request in session (created and accepted
    through the lifecycle, as the API does: one session per clinician)."""
    officer = User(id="off-1", username="off-1", display_name="PC One", role=Role.OFFICER)
    await store.client.hset(store.keys.user(officer.id), mapping=entry(officer.as_dict()))
    form = RequestForm.model_validate(REQUEST_FORM)
    clinicians = []
    for n in range(count):
        clinician = User(
            id=f"clin-{n}", username=f"clin-{n}", display_name=f"Dr {n}", role=Role.CLINICIAN
        )
        await store.client.hset(store.keys.user(clinician.id), mapping=entry(clinician.as_dict()))
        record, _ = await lifecycle.create_request(
            store, Settings(), officer, form, now_ms=now_ms + n, idempotency_key=None
        )
        await lifecycle.accept_request(store, clinician, record.id, now_ms=now_ms + n)
        await lifecycle.set_availability(store, clinician, Availability.BUSY, now_ms=now_ms)
        clinicians.append(clinician)
    return clinicians


async def kill_when_timer_removed(
    client: aioredis.Redis, process: subprocess.Popen[bytes], members: list[str], due_ms: int
) -> None:
    """Set the timers `members` due at `due_ms`, then `kill -9` the instance the moment Redis
    says a member of `due` was removed (the instance's sweeper claimed a timer)."""
    pubsub = client.pubsub()
    await pubsub.subscribe(f"__keyspace@0__:{PREFIX}due")
    try:
        await client.zadd(f"{PREFIX}due", dict.fromkeys(members, due_ms))
        async with asyncio.timeout(15):
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message and message["data"] == "zrem":
                    process.send_signal(signal.SIGKILL)
                    break
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


async def test_an_instance_killed_right_after_the_grace_claim_strands_no_session(
    notifying_redis: str,
) -> None:
    """60 clinicians, each in a session, lose their connections; the instance whose sweeper
    fires their grace timers is killed (`kill -9`) the moment a timer's removal is visible in
    Redis (where the claim used to end and the release begin). After any instance's next
    sweep every session is back in the queue, every clinician is offline and holds none, and
    no timer is left to fire: a claim and its release are one atomic step."""
    client = aioredis.Redis.from_url(notifying_redis, decode_responses=True)
    store = Store(client, PREFIX)
    process: subprocess.Popen[bytes] | None = None
    try:
        seconds, micros = await client.time()
        now = seconds * 1000 + micros // 1000
        clinicians = await clinicians_in_session(store, SESSIONS, now_ms=now - 60_000)
        process = await start_instance(free_port(), PREFIX, TRIAGE_REDIS_URL=notifying_redis)
        timers = [f"grace:{clinician.id}" for clinician in clinicians]
        await kill_when_timer_removed(client, process, timers, now - 1)
        await sweep_due(store, now + 60_000)  # any instance's next sweep: nothing is left
        statuses = [
            await client.hget(store.keys.request(rid), "status")
            for rid in await store.requests.waiting()
        ]
        assert statuses == ["waiting"] * SESSIONS
        for clinician in clinicians:
            assert await store.clinicians.in_session(clinician.id) == set()
            assert await store.clinicians.availability(clinician.id) == "offline"
        for timer in timers:
            assert await client.zscore(f"{PREFIX}due", timer) is None
    finally:
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=10)
        await client.aclose()
