"""The embedded redis-server is owned by `serve`: it dies with it, is never left behind and
never silently reused, and keeps its files private."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from support.commands import Server, add_user, alive, answers, redis_children, start_serve
from triage_service.store.embedded import find_redis_server


def redis_servers_in(data_dir: Path) -> list[int]:
    """Pids of live redis-server processes working in `data_dir` (Redis rewrites its argv)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            name = (proc / "comm").read_text().strip()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if name.startswith("redis-server") and cwd == str(data_dir) and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    """Kill any redis-server still working under the test's directory when it ends."""
    yield
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            name = (proc / "comm").read_text().strip()
            if (
                name.startswith("redis-server")
                and tmp_path in Path(os.readlink(proc / "cwd")).parents
            ):
                os.kill(int(proc.name), signal.SIGKILL)


async def gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether the process `pid` ends within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while alive(pid) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return not alive(pid)


async def test_kill_9_of_serve_takes_its_redis_and_a_restart_owns_a_fresh_one(
    tmp_path: Path, serving: list[Server]
) -> None:
    """After `kill -9` of serve its redis-server exits; the next serve starts its own child,
    and a clean stop leaves no redis-server on the data directory."""
    data_dir = tmp_path / "var"
    first = await start_serve(serving, data_dir)
    [orphan] = redis_children(first.process.pid)
    first.process.kill()
    await first.process.wait()
    assert await gone(orphan), "the embedded redis-server dies with its service"

    second = await start_serve(serving, data_dir)
    [child] = redis_children(second.process.pid)
    assert redis_servers_in(data_dir) == [child]
    pid_file = json.loads((data_dir / "redis.pid").read_text())
    assert pid_file == {"owner": second.process.pid, "server": child}
    second.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(second.process.wait(), 20) == 0
    assert await gone(child)
    assert redis_servers_in(data_dir) == []
    assert not (data_dir / "redis.pid").exists()


async def test_a_server_left_by_a_crashed_service_is_replaced_with_its_data(
    tmp_path: Path, serving: list[Server]
) -> None:
    """A redis-server whose owner is dead (here one that outlived it) is shut down, its data
    kept, and a fresh child started in its place; SIGTERM then leaves nothing running."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    sock = data_dir / "redis.sock"
    leftover = subprocess.Popen(
        [
            find_redis_server(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            if await answers(sock):
                break
            await asyncio.sleep(0.05)
        client = aioredis.Redis(unix_socket_path=str(sock))
        await client.set("kept", "yes")
        await client.aclose()
        dead_owner = subprocess.Popen(["true"])
        dead_owner.wait()
        (data_dir / "redis.pid").write_text(
            json.dumps({"owner": dead_owner.pid, "server": leftover.pid})
        )

        server = await start_serve(serving, data_dir)
        assert leftover.wait(timeout=5) == 0, "the leftover server was shut down cleanly"
        [child] = redis_children(server.process.pid)
        assert redis_servers_in(data_dir) == [child]
        client = aioredis.Redis(unix_socket_path=str(sock), decode_responses=True)
        assert await client.get("kept") == "yes"
        await client.aclose()
        assert await server.stop() == 0
        assert redis_servers_in(data_dir) == []
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_dir_is_private(tmp_path: Path, serving: list[Server]) -> None:
    """The data directory is 0700 and everything the embedded Redis writes is 0600 (and
    serve writes its access log by default)."""
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    server = await start_serve(serving, data_dir)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{server.port}/healthz") as r,
    ):
        assert r.status == 200
    assert mode(data_dir) == 0o700
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"redis.log", "redis.pid"}
    assert any(".aof" in p.name for p in files), files
    for path in files:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    for path in (p for p in data_dir.rglob("*") if p.is_dir()):
        assert mode(path) == 0o700, (path, oct(mode(path)))
    assert await server.stop() == 0
    serve_log = (tmp_path / f"serve-{server.port}.log").read_text()
    assert re.search(
        r'"logger": "triage_service.access", "message": "GET /healthz 200 \d+B [\d.]+ms id=\w+"',
        serve_log,
    )  # JSON log lines by default


async def test_user_add_beside_a_running_service_uses_and_keeps_its_server(
    tmp_path: Path, serving: list[Server]
) -> None:
    """`user add` on the data directory of a running service uses that service's server and
    leaves it running: a live owner's server is never stopped or replaced."""
    data_dir = tmp_path / "var"
    server = await start_serve(serving, data_dir)
    [child] = redis_children(server.process.pid)
    status, _, err = await add_user(data_dir, "bob")
    assert status == 0, err
    assert redis_children(server.process.pid) == [child]
    assert await answers(data_dir / "redis.sock")
    assert json.loads((data_dir / "redis.pid").read_text())["owner"] == server.process.pid
    assert await server.stop() == 0
    assert redis_servers_in(data_dir) == []


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    """Status and body of the instance's `/healthz` (0 and {} when it does not answer)."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status, await response.json()
    except aiohttp.ClientError:
        return 0, {}


async def test_a_killed_embedded_redis_is_restarted_from_its_aof(
    tmp_path: Path, serving: list[Server]
) -> None:
    """`kill -9` of the embedded redis-server alone: serve starts a new one on the same
    files within 3 s (a write acknowledged before the kill is there), logs the exit and the
    restart, and `/healthz` answers 200 again saying it runs after one restart, with the
    exit status of the one that died."""
    data_dir = tmp_path / "var"
    server = await start_serve(serving, data_dir)
    [first] = redis_children(server.process.pid)
    client = aioredis.Redis(unix_socket_path=str(data_dir / "redis.sock"), decode_responses=True)
    await client.set("kept", "yes")
    await client.aclose()
    os.kill(first, signal.SIGKILL)
    killed = asyncio.get_running_loop().time()
    while True:
        status, body = await healthz(server.port)
        took = asyncio.get_running_loop().time() - killed
        if status == 200 and body["embedded_redis"]["restarts"] == 1:
            break
        assert took < 3, (status, body)
        await asyncio.sleep(0.05)
    assert body["embedded_redis"]["running"] and body["embedded_redis"]["last_exit_status"] == -9
    [second] = redis_children(server.process.pid)
    assert second != first and redis_servers_in(data_dir) == [second]
    client = aioredis.Redis(unix_socket_path=str(data_dir / "redis.sock"), decode_responses=True)
    assert await client.get("kept") == "yes"
    await client.aclose()
    log = (data_dir.parent / f"serve-{server.port}.log").read_text()
    assert f"embedded redis-server {first} exited with status -9" in log
    assert f"embedded redis-server restarted (pid {second}, restart 1)" in log
    assert await server.stop() == 0
    assert redis_servers_in(data_dir) == []
    print(f"embedded redis-server back (healthz 200) {took:.2f} s after kill -9")
