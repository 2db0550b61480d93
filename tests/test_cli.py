"""The `triage-service` command: accounts, usage errors, and serving with the embedded Redis."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

COMMAND = str(Path(sys.executable).parent / "triage-service")
DEMO_LINE = re.compile(r"^\s+(\w+)\s+username (\S+)\s+password (\S+)$")


def clean_env() -> dict[str, str]:
    """The environment without any TRIAGE_* setting (so the embedded Redis is used)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}


async def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    """Run the command to completion; return its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or clean_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def add_user(
    data_dir: Path, username: str, *, role: str = "officer", password: str = "correct horse battery"
) -> tuple[int, str, str]:
    """`triage-service user add USERNAME --role ROLE --password-stdin --data-dir DIR`."""
    return await run(
        "user",
        "add",
        username,
        "--role",
        role,
        "--password-stdin",
        "--data-dir",
        str(data_dir),
        stdin=password + "\n",
    )


def error_lines(stderr: str) -> list[str]:
    """The lines of stderr that are not log records."""
    log_record = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
    return [line for line in stderr.splitlines() if line.strip() and not log_record.match(line)]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def answers(socket_path: Path) -> bool:
    """Whether a Redis server answers PING on the unix socket."""
    client = aioredis.Redis(
        unix_socket_path=str(socket_path), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(await client.ping())
    except (aioredis.ConnectionError, OSError):
        return False
    finally:
        await client.aclose()


def redis_children(pid: int) -> list[int]:
    """Pids of the live redis-server processes whose parent is `pid`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        state, parent = rest.split()[:2]
        if name.startswith("redis-server") and int(parent) == pid and state != "Z":
            found.append(int(proc.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Server:
    """`triage-service serve` running as a child process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.lines: list[str] = []

    async def read_until(self, pattern: str, timeout: float = 30) -> str:
        """Read stdout lines until one contains `pattern`; return it."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stdout.readline()
                assert raw, f"serve exited before printing {pattern!r}: {self.lines}"
                self.lines.append(raw.decode().rstrip("\n"))
                if pattern in self.lines[-1]:
                    return self.lines[-1]

    def demo_accounts(self) -> dict[str, str]:
        """Role → password of the demo accounts printed so far."""
        return {m[1]: m[3] for line in self.lines if (m := DEMO_LINE.match(line))}

    async def stop(self) -> int:
        """SIGTERM, then the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 20)


@pytest.fixture
async def serving(tmp_path: Path) -> AsyncIterator[list[Server]]:
    """A list of started servers; any still running is killed after the test."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def start_serve(servers: list[Server], data_dir: Path, *extra: str) -> Server:
    """Start `serve` on a free port with `data_dir` and wait until it listens."""
    port = free_port()
    log = (data_dir.parent / f"serve-{port}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        env=clean_env(),
    )
    log.close()
    server = Server(process, port)
    servers.append(server)
    await server.read_until("listening on")
    return server


async def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    """A bad flag, role or TRIAGE_* value exits 2 with a single clear line on stderr."""
    env = {**clean_env(), "TRIAGE_PORT": "abc"}
    bad_port, bad_role, bad_env, bad_targets = await asyncio.gather(
        run("serve", "--port", "abc"),
        add_user(tmp_path, "bob", role="wizard"),
        run("serve", env=env),
        run("serve", "--response-targets-h", "B:4"),
    )
    for status, out, err in (bad_port, bad_role, bad_env, bad_targets):
        assert status == 2, (status, out, err)
        assert len(error_lines(err)) == 1, err
        assert out == ""
    assert "--port" in bad_port[2] and "'abc'" in bad_port[2]
    assert "wizard" in bad_role[2] and "officer" in bad_role[2]
    assert "port must be a number" in bad_env[2]
    assert "response_targets_h" in bad_targets[2]
    assert not (tmp_path / "redis.sock").exists()


async def test_user_add_twice_fails_clearly(tmp_path: Path) -> None:
    """Adding the same username twice fails the second time with a clear message."""
    status, out, err = await add_user(tmp_path, "alice")
    assert status == 0, err
    assert "created officer alice" in out
    (status, out, err), (short, _, short_err) = await asyncio.gather(
        add_user(tmp_path, "ALICE", role="clinician"),
        add_user(tmp_path / "other", "carol", password="short"),
    )
    assert status != 0
    assert error_lines(err) == ["triage-service: user 'ALICE' already exists"], err
    assert short != 0 and "at least 12 characters" in short_err
    assert not await answers(tmp_path / "redis.sock"), "user add leaves no server running"


async def test_serve_embedded_redis_demo_accounts_and_restart(
    tmp_path: Path, serving: list[Server]
) -> None:
    """Serve starts its own Redis, prints demo accounts, stops Redis on SIGTERM, keeps data."""
    data_dir = tmp_path / "var"
    redis_socket = data_dir / "redis.sock"
    first = await start_serve(serving, data_dir, "--demo-accounts")
    accounts = first.demo_accounts()
    assert set(accounts) == {"officer", "clinician", "supervisor"}, first.lines
    assert await answers(redis_socket)
    [redis_pid] = redis_children(first.process.pid)
    base = f"http://127.0.0.1:{first.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200 and await r.json() == {"status": "ok", "redis": "ok"}
        async with http.post(
            f"{base}/api/v1/login", json={"username": "officer", "password": accounts["officer"]}
        ) as r:
            assert r.status == 200
            assert (await r.json())["user"]["role"] == "officer"

    assert await first.stop() == 0
    assert not await answers(redis_socket), "SIGTERM stops the embedded Redis"
    assert not alive(redis_pid)

    second = await start_serve(serving, data_dir, "--demo-accounts")
    assert second.demo_accounts() == {}, "demo accounts are made only on an empty store"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{second.port}/api/v1/login",
            json={"username": "clinician", "password": accounts["clinician"]},
        ) as r,
    ):
        assert r.status == 200, "accounts survive the restart"
    assert await second.stop() == 0
    assert not await answers(redis_socket)

    status, _, err = await add_user(data_dir, "officer")
    assert status != 0 and "already exists" in err


async def test_user_add_receiver_with_a_team(tmp_path: Path) -> None:
    """`user add NAME --role receiver --team SERVICE:BOARD` creates a team member; a receiver
    without a team or with an unknown service or board fails with one clear line."""

    async def receiver(name: str, *team: str) -> tuple[int, str, str]:
        return await run(
            "user", "add", name, "--role", "receiver", *team, "--password-stdin",
            "--data-dir", str(tmp_path), stdin="correct horse battery\n",
        )  # fmt: skip

    status, out, err = await receiver("crisis1", "--team", "crisis_team:default")
    assert status == 0, err
    assert "created receiver crisis1 in team crisis_team:default" in out
    for team, problem in (
        ((), "needs --team"),
        (("--team", "plumbers:default"), "unknown service 'plumbers'"),
        (("--team", "cmht:atlantis"), "unknown board 'atlantis'"),
    ):
        status, _, err = await receiver("other", *team)
        assert status == 1 and len(error_lines(err)) == 1 and problem in err, err
