"""What every benchmark phase shares: the connection pool and its sessions, sockets that stamp
arrivals, accounts, bounded concurrency, progress and profiling."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from triage_client.client import ANONYMOUS, ServiceClient
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.accounts import hash_password, save_user
from triage_service.service.sessions import open_session
from triage_service.settings import Settings
from triage_service.store.store import Store
from triage_tools.bench.deployment import Deployment
from triage_tools.bench.figures import cpu_seconds, machine_cpu_seconds, summary_ms

PASSWORD = "bench-password-not-secret"
Match = Callable[[dict[str, Any]], bool]
T = TypeVar("T")


@contextlib.contextmanager
def own_objects_settled() -> Iterator[None]:
    """While timing: what this process holds now (its sessions, sockets and what they
    received) is kept out of its own garbage collections, as the server does with what it
    starts with; a full collection of the benchmark's own objects (40-65 ms with 2,000
    sockets) would otherwise be timed as the server's delay."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def profiled(bench: Bench, phase: str) -> Iterator[None]:
    """With --py-spy DIR, sample the server with py-spy during `phase` (collapsed stacks)."""
    if bench.args.py_spy is None:
        yield
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    bench.args.py_spy.mkdir(parents=True, exist_ok=True)
    recorder = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(bench.deployment.server_pid),
            "--rate",
            "500",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(bench.args.py_spy / f"{phase}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)


def log(text: str) -> None:
    """Progress on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class LiveSocket:
    """A `/ws` connection whose reader stamps every frame with its arrival time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, keep: bool = True) -> None:
        self.ws = ws
        self.keep = keep
        self.inbox: list[tuple[float, dict[str, Any]]] = []
        self.frames = 0  # text frames received, kept or not
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="bench-socket")

    @classmethod
    async def open(cls, session: ServiceClient, *, keep: bool = True) -> LiveSocket:
        """Open `/ws` on `session` (no heartbeat) and start reading it."""
        return cls(await session.connect_ws(autoclose=True, heartbeat=None), keep=keep)

    async def _read(self) -> None:
        async for msg in self.ws:
            arrived = time.perf_counter()
            self.frames += msg.type is aiohttp.WSMsgType.TEXT
            if msg.type is aiohttp.WSMsgType.TEXT and self.keep:
                self.inbox.append((arrived, json.loads(msg.data)))
                self._arrived.set()

    async def arrival(self, match: Match, timeout: float = 10.0) -> float:
        """The arrival time of the first kept message that `match`es, waiting for it."""
        async with asyncio.timeout(timeout):
            while True:
                for arrived, message in self.inbox:
                    if match(message):
                        return arrived
                self._arrived.clear()
                await self._arrived.wait()

    def drain(self) -> None:
        """Forget everything received so far."""
        self.inbox.clear()

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self.ws.close()
        self._reader.cancel()
        await asyncio.wait({self._reader})


class Pool:
    """One HTTP connection pool for every session; each session is a ServiceClient on it
    whose cookie travels in the Cookie header."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            base_url=base_url,
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def session(self, token: str = "", csrf: str = "", user: User = ANONYMOUS) -> ServiceClient:
        """A client of one session on this pool."""
        return ServiceClient(self.base_url, http=self.http, user=user, csrf=csrf, token=token)

    async def login(self, username: str) -> ServiceClient:
        """Sign in through POST /api/v1/login (argon2id verification and all)."""
        session = self.session()
        await session.sign_in(username, PASSWORD)
        return session

    async def healthz(self) -> None:
        """GET /healthz once."""
        async with self.http.get("/healthz") as r:
            await r.read()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.close()


@dataclass
class Bench:
    """Everything the phases share: the deployment, the pool, accounts and results."""

    deployment: Deployment
    pool: Pool
    args: argparse.Namespace
    password_hash: str = ""
    started: float = field(default_factory=time.perf_counter)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        """The benchmark's own Redis client on the service's key prefix."""
        assert self.deployment.store is not None
        return self.deployment.store

    async def users(self, role: Role, count: int, label: str) -> list[User]:
        """`count` new accounts sharing one argon2id hash of PASSWORD."""
        if not self.password_hash:
            self.password_hash = await hash_password(PASSWORD)
        return await bounded(
            64,
            (
                save_user(
                    self.store,
                    username=f"{label}-{i:04d}",
                    role=role,
                    password_hash=self.password_hash,
                    display_name=f"{label.title()} {i}",
                )
                for i in range(count)
            ),
        )

    async def logins(self, users: Iterable[User]) -> list[ServiceClient]:
        """Sign each user in through the REST API (real argon2id verification)."""
        return await bounded(4, (self.pool.login(u.username) for u in users))

    async def sessions(self, users: Iterable[User]) -> list[ServiceClient]:
        """Open a server-side session per user with the login view's own `open_session`."""
        settings = Settings(redis_url=self.deployment.redis_url, key_prefix=self.deployment.prefix)
        now_ms = time.time_ns() // 1_000_000

        async def one(user: User) -> ServiceClient:
            sign_in = await open_session(self.store, settings, user, now_ms)
            return self.pool.session(sign_in.token, sign_in.csrf_token, user)

        return await bounded(64, (one(u) for u in users))


async def bounded(limit: int, jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Await every job with at most `limit` running at once, keeping their order."""
    gate = asyncio.Semaphore(limit)

    async def run(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return list(await asyncio.gather(*(run(j) for j in jobs)))


def is_created(request_id: str) -> Match:
    """Matches `request.created` for one request."""
    return lambda m: m.get("type") == "request.created" and m["request"]["id"] == request_id


def is_updated(request_id: str, status: str) -> Match:
    """Matches `request.updated` for one request in `status`."""
    return lambda m: (
        m.get("type") == "request.updated"
        and m["request"]["id"] == request_id
        and m["request"]["status"] == status
    )


async def others_cpu_pct(bench: Bench, seconds: float) -> int:
    """CPU used by processes other than the benchmark, server and Redis (% of one core)."""
    ours = [bench.deployment.server_pid, *filter(None, [bench.deployment.redis_pid])]

    def busy() -> float:
        return machine_cpu_seconds() - sum(map(cpu_seconds, ours)) - time.process_time()

    before = busy()
    await asyncio.sleep(seconds)
    return max(0, round(100 * (busy() - before) / seconds))


async def measure_floor(bench: Bench, samples: int) -> dict[str, Any]:
    """Median round trip of a Redis PING and of GET /healthz, sequentially."""
    redis_s, healthz_s = [], []
    for _ in range(samples):
        started = time.perf_counter()
        await bench.store.ping()
        redis_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        await bench.pool.healthz()
        healthz_s.append(time.perf_counter() - started)
    return {"redis_ping_ms": summary_ms(redis_s), "healthz_ms": summary_ms(healthz_s)}
