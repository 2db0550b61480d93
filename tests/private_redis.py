"""A redis-server process of a test's own (for what must not touch the shared one: pausing,
stopping, replicas, backups)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from live_server import free_port
from triage_service.store import find_redis_server

START_TIMEOUT_S = 10.0


def start(
    directory: Path, *args: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server in `directory` (no RDB snapshots unless `args` ask) and wait until
    it answers; the process and its port."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    where = ["--dir", str(directory), "--logfile", str(directory / "redis.log")]
    process = subprocess.Popen(
        [
            find_redis_server(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            *where,
            *args,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    client = redis.Redis(port=port)
    try:
        while True:
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    return process, port
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = directory / "redis.log"
                raise AssertionError(f"redis-server did not start: {log.read_text()}")
            time.sleep(0.05)
    finally:
        client.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a redis-server started here (SIGTERM, then SIGKILL)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def running(directory: Path, *args: str) -> Iterator[int]:
    """A private redis-server for the block; its port."""
    process, port = start(directory, *args)
    try:
        yield port
    finally:
        stop(process)
