"""Background loops under unexpected errors: logged with the traceback, restarted, counted,
and a loop that keeps dying makes /healthz answer degraded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from triage_service.store.base import entry
from triage_service.tasks import Supervisor, stop_task
from triage_service.web.state import STORE, TASKS


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (polling) until `condition()` holds, failing after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_dying_loop_is_logged_restarted_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A loop that raises twice is logged with its traceback each time and runs a third time."""
    calls: list[int] = []
    running = asyncio.Event()

    async def flaky() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError(f"boom {len(calls)}")
        running.set()
        await asyncio.Event().wait()

    supervisor = Supervisor(backoff_s=0.01)
    with caplog.at_level(logging.ERROR, logger="triage_service.tasks"):
        task = supervisor.start("flaky-loop", flaky)
        async with asyncio.timeout(5):
            await running.wait()
    await stop_task(task)
    assert supervisor.restarts == {"flaky-loop": 2}
    deaths = [r for r in caplog.records if "flaky-loop died" in r.getMessage()]
    assert len(deaths) == 2
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in deaths)
    assert supervisor.failing() == [], "two deaths are not yet a failing task"


async def test_healthz_degraded_while_a_task_keeps_dying(app: web.Application) -> None:
    """Five deaths within a minute make /healthz 503 degraded naming the task, with
    Retry-After; a minute later without deaths it is ok again."""
    now = [1000.0]
    app[TASKS] = Supervisor(backoff_s=0.001, clock=lambda: now[0])

    async def broken() -> None:
        raise RuntimeError("always")

    async with TestClient(TestServer(app)) as client:
        task = app[TASKS].start("broken-loop", broken)
        await until(lambda: app[TASKS].restarts["broken-loop"] >= 5)
        await stop_task(task)
        async with client.get("/healthz") as r:
            assert r.status == 503
            assert r.headers["Retry-After"]
            assert await r.json() == {
                "status": "degraded",
                "redis": "ok",
                "failing_tasks": ["broken-loop"],
            }
        async with client.get("/metrics") as r:
            assert 'triage_task_restarts{task="broken-loop"}' in await r.text()
        now[0] += 61
        async with client.get("/healthz") as r:
            assert r.status == 200 and await r.json() == {"status": "ok", "redis": "ok"}


async def test_timer_sweeper_survives_an_unexpected_error(
    app: web.Application, caplog: pytest.LogCaptureFixture
) -> None:
    """Corrupt data that makes a sweep raise ValueError does not end the sweeper: the death
    is logged with the traceback and later timers still fire."""
    app[TASKS] = Supervisor(backoff_s=0.01)
    async with TestClient(TestServer(app)) as _client:
        store = app[STORE]
        corrupt = {"status": "waiting", "created_ms": "0", "priority": "not-a-number"}
        with caplog.at_level(logging.ERROR, logger="triage_service.tasks"):
            await store.client.hset(store.keys.request("corrupt"), mapping=entry(corrupt))
            await store.client.zadd(store.keys("due"), {"expire:corrupt": 0})
            await until(lambda: app[TASKS].restarts["timer-sweeper"] >= 1)
        [death] = [r for r in caplog.records if "timer-sweeper died" in r.getMessage()]
        assert death.exc_info and isinstance(death.exc_info[1], ValueError)
        await store.client.zadd(store.keys("due"), {"bogus:timer": 0})
        async with asyncio.timeout(10):
            while await store.client.zscore(store.keys("due"), "bogus:timer") is not None:
                await asyncio.sleep(0.05)
