"""The benchmark's deployment: a private redis-server and one `triage-service serve` process
on free loopback ports, removed on close."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

from triage_service.store.embedded import find_redis_server
from triage_service.store.store import Store, connect

PREFIX = "bench:"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies, so nothing is left running."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Deployment:
    """A private redis-server and one `triage-service serve` process, removed on close."""

    def __init__(self, *, redis_url: str | None, appendfsync: str = "always") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="triage-bench-"))
        self.external_redis = redis_url is not None
        self.prefix = f"{PREFIX}{secrets.token_hex(4)}:" if redis_url else PREFIX
        self.redis_url = redis_url or ""
        self.appendfsync = appendfsync
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.redis: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.store: Store | None = None

    def start_processes(self) -> None:
        """Start redis-server (unless one was given) and the service."""
        if not self.external_redis:
            port = free_port()
            self.redis = subprocess.Popen(
                [
                    find_redis_server(),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.tmp),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    self.appendfsync,
                    "--save",
                    "",
                    "--logfile",
                    str(self.tmp / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
            self.redis_url = f"redis://127.0.0.1:{port}/0"
        # BENCH_SERVER_CMD runs another build of the server (for before/after comparisons),
        # e.g. `env PYTHONPATH=/tmp/other-checkout .venv/bin/python -m triage_service`. The
        # server runs in the deployment's own directory: `python -m` puts the working
        # directory first on sys.path, and in this checkout that would import this build.
        server = (
            os.environ["BENCH_SERVER_CMD"].split()
            if os.environ.get("BENCH_SERVER_CMD")
            else [str(Path(sys.executable).with_name("triage-service"))]
        )
        command = [
            *server,
            "serve",
            "--port",
            str(self.port),
            "--redis-url",
            self.redis_url,
            "--key-prefix",
            self.prefix,
            "--data-dir",
            str(self.tmp / "var"),
            # The load plays whole shifts through a few accounts: lift the per-user caps. The
            # access log stays off, as in the figures measured before it existed.
            "--requests-per-minute",
            "1000000",
            "--messages-per-minute",
            "1000000",
            "--no-access-log",
        ]
        with (self.tmp / "server.log").open("wb") as out:
            self.server = subprocess.Popen(
                command,
                cwd=self.tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    async def wait_ready(self) -> None:
        """Connect to Redis and wait until /healthz answers 200."""
        self.store = Store(await connect(self.redis_url, attempts=40, delay_s=0.1), self.prefix)
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                assert self.server is not None
                if self.server.poll() is not None:
                    raise RuntimeError("the server exited:\n" + self.server_log())
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.base_url + "/healthz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not become healthy:\n" + self.server_log())

    @property
    def server_pid(self) -> int:
        """The server process id."""
        assert self.server is not None
        return self.server.pid

    @property
    def redis_pid(self) -> int | None:
        """The private redis-server's process id (None when using an external Redis)."""
        return self.redis.pid if self.redis else None

    def server_log(self) -> str:
        """The last lines the server wrote."""
        return "\n".join((self.tmp / "server.log").read_text(errors="replace").splitlines()[-30:])

    async def close(self) -> None:
        """Stop the server, then Redis (or delete this run's keys), then remove temp files."""
        # 1. the server first, so it does not log Redis errors while stopping
        _stop(self.server)
        # 2. this run's data: keys under the prefix on a shared Redis, else the whole server
        if self.store is not None:
            if self.external_redis:
                await self.store.delete_all()
            await self.store.close()
        _stop(self.redis)
        # 3. logs, AOF and the embedded data dir
        shutil.rmtree(self.tmp, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
