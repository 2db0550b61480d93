"""The service as a real process on a free port, for tests that drive it from outside."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    """This process's environment without PYTHONPATH, so the command imports what it installed."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def fetch(url: str, *, timeout: float = 5.0) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET (error statuses included, no exception)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


@contextlib.contextmanager
def serving(
    command: Sequence[str], *, port: int, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run `command` until /healthz answers 200, yield its base URL, then stop it (at once:
    no drain, which would add its 5 s; tests/test_drain.py tests the drain)."""
    log = cwd / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={"TRIAGE_DRAIN_S": "0", **(env or environment())},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            if fetch(f"{base}/healthz", timeout=1)[0] == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"server not healthy within {START_TIMEOUT_S} s:\n{log.read_text()}")
