"""The `triage-service` command run by tests: its environment, `user` and `serve` as child
processes, and what to ask of the embedded redis-server they start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from conftest import (
    REDIS_URL,
)
from live_server import free_port

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


async def start_serve(servers: list[Server], data_dir: Path, *extra: str) -> Server:
    """Start `serve` on a free port with `data_dir` and wait until it listens. It stops at
    once on SIGTERM (`--drain-s 0`: the drain is tests/test_drain.py's; it would add its
    5 s to every stop here)."""
    port = free_port()
    log = (data_dir.parent / f"serve-{port}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--drain-s",
        "0",
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


def user_cmd(key_prefix: str, *args: str, stdin: str = "") -> asyncio.Future[tuple[int, str, str]]:
    """`triage-service user ARGS` against the test Redis under the test's key prefix."""
    env = {**clean_env(), "TRIAGE_REDIS_URL": REDIS_URL, "TRIAGE_KEY_PREFIX": key_prefix}
    return asyncio.ensure_future(run("user", *args, stdin=stdin, env=env))


async def start_instance(port: int, prefix: str, **env: str) -> subprocess.Popen[bytes]:
    """A real service process on `port`, sharing the test Redis under `prefix`."""
    environment = {
        **os.environ,
        "TRIAGE_REDIS_URL": REDIS_URL,
        "TRIAGE_KEY_PREFIX": prefix,
        "TRIAGE_PORT": str(port),
        "TRIAGE_PRESENCE_LEASE_S": "2",
        "TRIAGE_CLINICIAN_GRACE_S": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "triage_service", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return process
            await asyncio.sleep(0.05)
    raise AssertionError("the service did not start")
