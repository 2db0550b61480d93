"""Stopping an instance so nobody notices, and what it logs: `serve` as a real process on a
private Redis; SIGTERM makes /readyz answer 503 at once while requests are still served, then
open sockets are closed with 1012 "service restart", a request in flight is still answered,
and the process exits 0. Its log is one JSON object per line (or plain text when asked)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import private_redis
import pytest
import redis

from live_server import fetch, free_port
from triage_client.client import ServiceClient

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough password"
SERVICE_RESTART = 1012


def run_cli(redis_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """One `triage-service` command against `redis_url`; its completed process."""
    return subprocess.run(
        [sys.executable, "-m", "triage_service", *args, "--redis-url", redis_url],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@contextlib.contextmanager
def serve(redis_url: str, log: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`triage-service serve` on a free port until /healthz answers; the process, base URL."""
    port = free_port()
    command = [sys.executable, "-m", "triage_service", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--redis-url", redis_url, *args], cwd=ROOT, stderr=out, stdout=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if fetch(f"{base}/readyz", timeout=1)[0] == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private Redis (the drain test pauses its writes), with one officer account."""
    with private_redis.running(tmp_path / "redis") as port:
        url = f"redis://127.0.0.1:{port}/0"
        run_cli(
            url,
            "user",
            "add",
            "officer1",
            "--role",
            "officer",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        yield url


async def readyz(http: aiohttp.ClientSession) -> int:
    """The status of GET /readyz."""
    async with http.get("/readyz") as r:
        return r.status


async def test_sigterm_drains(redis_url: str, tmp_path: Path) -> None:
    """SIGTERM: /readyz 503 at once and the API still answering during the drain; then the
    socket is closed with 1012, a request held in flight (Redis writes paused) is answered
    200, new connections are refused and the process exits 0."""
    with serve(redis_url, tmp_path / "serve.log", "--drain-s", "2") as (process, base):
        officer = ServiceClient(base)
        await officer.sign_in("officer1", PASSWORD)
        http = officer.http
        ws = await http.ws_connect("/ws")
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        while await readyz(http) != 503:  # type: ignore[arg-type]
            assert time.monotonic() - started < 1.5
            await asyncio.sleep(0.02)
        assert (await officer.get("/api/v1/me"))[0] == 200
        pauser = redis.Redis.from_url(redis_url)
        pauser.client_pause(3000, all=False)  # writes wait; reads and /readyz do not
        in_flight = asyncio.create_task(officer.get("/healthz"))
        closed = await asyncio.wait_for(ws.receive(), timeout=10)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == SERVICE_RESTART
        assert not in_flight.done()
        assert (await asyncio.wait_for(in_flight, timeout=20))[0] == 200
        assert time.monotonic() - started >= 2.9  # answered after the pause, not cut off
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as fresh, fresh.get(f"{base}/healthz"):
                pass
        await ws.close()
        await officer.close()
        pauser.close()
        assert await asyncio.to_thread(process.wait, 20) == 0
    log = (tmp_path / "serve.log").read_text()
    assert "draining" in log and '"stopped"' in log


def test_logs_are_json_lines_with_request_ids(redis_url: str, tmp_path: Path) -> None:
    """Every log line of `serve` is a JSON object with time, level, logger and message; the
    access line of a request carries its X-Request-Id and no query string."""
    log = tmp_path / "serve.log"
    with serve(redis_url, log, "--drain-s", "0") as (process, base):
        request = get_with_id(f"{base}/healthz?who=Jane+Doe", "req-id-12345678")
        assert request == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    objects = [json.loads(line) for line in lines]
    assert objects and all({"time", "level", "logger", "message"} <= set(o) for o in objects)
    access = [o for o in objects if o["logger"] == "triage_service.access"]
    healthz = next(o for o in access if "/healthz" in o["message"])
    assert healthz["request_id"] == "req-id-12345678"
    assert "Jane" not in log.read_text() and "who=" not in log.read_text()
    others = [line for line in log.read_text().splitlines() if not line.startswith("{")]
    assert all(line.startswith("triage-service listening") for line in others), others


def test_text_logs_when_asked(redis_url: str, tmp_path: Path) -> None:
    """`--log-format text` writes plain `time LEVEL logger message` lines."""
    log = tmp_path / "serve.log"
    with serve(redis_url, log, "--log-format", "text", "--drain-s", "0") as (process, base):
        assert get_with_id(f"{base}/healthz", "req-id-abcdefgh") == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    text = log.read_text()
    assert not any(line.startswith("{") for line in text.splitlines())
    assert " INFO triage_service.access GET /healthz 200 " in text
    assert "id=req-id-abcdefgh" in text


def get_with_id(url: str, request_id: str) -> int:
    """GET `url` with an X-Request-Id (plain urllib); its status."""
    with urllib.request.urlopen(
        urllib.request.Request(url, headers={"X-Request-Id": request_id}), timeout=5
    ) as r:
        return int(r.status)
