"""Benchmark the service on this machine in one run; print one JSON object and a table.

Starts its own redis-server (AOF on, fsync always, as the embedded one) and a
`triage-service serve` subprocess on free loopback ports, creates accounts, then measures:
the floor (Redis PING, /healthz), notify and accept latency, lifecycle throughput, call set-up
between two headless aiortc peers, and 2,000 signed-in sockets with the queue fan-out to 500
waiting officers. The JSON goes to stdout, the table and progress to stderr.

Latencies are measured in this process with `time.perf_counter()` from just before the HTTP
request is sent to the moment the socket's reader task sees the frame. Percentiles use the
nearest-rank method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.accounts import hash_password, save_user
from triage_service.service.sessions import open_session
from triage_service.settings import Settings
from triage_service.store.embedded import find_redis_server
from triage_service.store.store import Store, connect
from triage_service.web.auth import COOKIE

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-not-secret"
PREFIX = "bench:"
Match = Callable[[dict[str, Any]], bool]
T = TypeVar("T")

REQUEST_FORM: dict[str, Any] = {
    "incident_ref": "PS-BENCH-0001",
    "location": {"description": "Bus station, Buchanan St", "area": "Glasgow City Centre"},
    "subject": {"age_band": "26_40", "sex": "female"},
    "urgency": "urgent",
    "concerns": ["distress"],
    "screening": {"cssrs": {"q1": True, "q2": False}},
    "mode": "text",
    "consent": True,
    "notes": "benchmark",
}
OUTCOME_FORM: dict[str, Any] = {
    "triage_code": "E",
    "disposition": "resolved_on_scene",
    "conveyance": "none",
    "risk": {"to_self": "low", "to_others": "none"},
    "summary": "benchmark",
    "advice_to_officer": "Safety plan agreed.",
}
TARGETS = {
    "notify_p99_ms": 20.0,
    "accept_p99_ms": 20.0,
    "lifecycles_per_s": 200.0,
    "rss_mb": 400.0,
    "fanout_p99_ms": 500.0,
    "stats_ratio": 1.5,
}


# ---------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) by the nearest-rank method: a value that occurred."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds, with the sample count."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
    }


def ratios(latency: dict[str, float], floor: dict[str, Any]) -> dict[str, float]:
    """Each latency percentile divided by the median Redis and /healthz round trips."""
    redis_ms, healthz_ms = floor["redis_ping_ms"]["p50"], floor["healthz_ms"]["p50"]
    return {
        f"{q}_to_{name}": round(latency[q] / base, 1)
        for q in ("p50", "p99")
        for name, base in (("redis", redis_ms), ("healthz", healthz_ms))
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds used so far by process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, every process)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for pid {pid}")


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


# ---------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
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
                preexec_fn=_die_with_parent,
            )
            self.redis_url = f"redis://127.0.0.1:{port}/0"
        # BENCH_SERVER_CMD runs another build of the server (for before/after comparisons).
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
        ]
        with (self.tmp / "server.log").open("wb") as out:
            self.server = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
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
                await _delete_prefix(self.store)
            await self.store.client.aclose()
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


async def _delete_prefix(store: Store) -> None:
    batch: list[str] = []
    async for key in store.client.scan_iter(match=store.keys.prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            await store.client.delete(*batch)
            batch.clear()
    if batch:
        await store.client.delete(*batch)


# ---------------------------------------------------------------- clients


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session: its cookie token, CSRF token and user."""

    token: str
    csrf: str
    user_id: str


class LiveSocket:
    """A `/ws` connection whose reader stamps every frame with its arrival time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, keep: bool = True) -> None:
        self.ws = ws
        self.keep = keep
        self.inbox: list[tuple[float, dict[str, Any]]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="bench-socket")

    async def _read(self) -> None:
        async for msg in self.ws:
            arrived = time.perf_counter()
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


class Client:
    """One pooled HTTP client for every session; the session travels in the Cookie header."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )

    def _headers(self, session: Session) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={session.token}", "X-CSRF-Token": session.csrf}

    async def call(self, session: Session, method: str, path: str, body: Any = None) -> Any:
        """One REST call; its decoded JSON, raising on any 4xx or 5xx."""
        async with self.http.request(
            method, self.base_url + path, json=body, headers=self._headers(session)
        ) as r:
            answer = await r.json() if r.content_type == "application/json" else None
            if r.status >= 400:
                raise RuntimeError(f"{method} {path} answered {r.status}: {answer}")
            return answer

    async def login(self, username: str) -> Session:
        """Sign in through POST /api/v1/login (argon2id verification and all)."""
        async with self.http.post(
            self.base_url + "/api/v1/login", json={"username": username, "password": PASSWORD}
        ) as r:
            body = await r.json()
            if r.status != 200:
                raise RuntimeError(f"login {username} answered {r.status}: {body}")
            return Session(r.cookies[COOKIE].value, body["csrf_token"], body["user"]["id"])

    async def socket(self, session: Session, *, keep: bool = True) -> LiveSocket:
        """Open `/ws` with the session cookie and a same-origin Origin header."""
        ws = await self.http.ws_connect(
            self.base_url.replace("http", "ws", 1) + "/ws",
            headers={"Cookie": f"{COOKIE}={session.token}"},
            origin=self.base_url,
            autoclose=True,
            heartbeat=None,
        )
        return LiveSocket(ws, keep=keep)

    async def healthz(self) -> None:
        """GET /healthz once."""
        async with self.http.get(self.base_url + "/healthz") as r:
            await r.read()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.close()


@dataclass
class Bench:
    """Everything the phases share: the deployment, the client, accounts and results."""

    deployment: Deployment
    client: Client
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

    async def logins(self, users: Iterable[User]) -> list[Session]:
        """Sign each user in through the REST API (real argon2id verification)."""
        return await bounded(4, (self.client.login(u.username) for u in users))

    async def sessions(self, users: Iterable[User]) -> list[Session]:
        """Open a server-side session per user with the login view's own `open_session`."""
        settings = Settings(redis_url=self.deployment.redis_url, key_prefix=self.deployment.prefix)
        now_ms = time.time_ns() // 1_000_000

        async def one(user: User) -> Session:
            sign_in = await open_session(self.store, settings, user, now_ms)
            return Session(sign_in.token, sign_in.csrf_token, user.id)

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


# ---------------------------------------------------------------- phases


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
        await bench.store.client.ping()
        redis_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        await bench.client.healthz()
        healthz_s.append(time.perf_counter() - started)
    return {"redis_ping_ms": summary_ms(redis_s), "healthz_ms": summary_ms(healthz_s)}


@dataclass
class Staff:
    """Signed-in clinicians with sockets, and officers with waiting requests and sockets."""

    clinicians: list[Session]
    clinician_sockets: list[LiveSocket]
    officer: Session
    officer_socket: LiveSocket
    waiting: list[tuple[Session, str]]
    waiting_sockets: list[LiveSocket]

    async def close_officers(self) -> None:
        """Close the officers' sockets (the clinicians stay connected to the end)."""
        await asyncio.gather(*(s.close() for s in (self.officer_socket, *self.waiting_sockets)))

    async def close(self) -> None:
        """Close every socket still open."""
        await self.close_officers()
        await asyncio.gather(*(s.close() for s in self.clinician_sockets))


async def staff_up(bench: Bench, clinicians: int, waiting: int) -> Staff:
    """Clinicians signed in, available and listening; `waiting` requests, each its officer's."""
    c = bench.client
    clinician_users = await bench.users(Role.CLINICIAN, clinicians, "clinician")
    officer_users = await bench.users(Role.OFFICER, waiting + 1, "officer")
    clinician_sessions = await bench.logins(clinician_users)
    officer = (await bench.logins(officer_users[:1]))[0]
    for s in clinician_sessions:
        await c.call(s, "PUT", "/api/v1/availability", {"status": "available"})
    queue_officers = await bench.sessions(officer_users[1:])
    created = await bounded(
        8, (c.call(s, "POST", "/api/v1/requests", REQUEST_FORM) for s in queue_officers)
    )
    staff = Staff(
        clinician_sessions,
        [await c.socket(s) for s in clinician_sessions],
        officer,
        await c.socket(officer),
        [(s, r["id"]) for s, r in zip(queue_officers, created, strict=True)],
        await bounded(32, (c.socket(s, keep=False) for s in queue_officers)),
    )
    await asyncio.sleep(0.5)
    return staff


async def one_round(bench: Bench, staff: Staff, clinician: Session) -> tuple[float, float, float]:
    """Create → every clinician notified → accept → officer told → outcome.

    Returns (first clinician notified, last clinician notified, officer told of accept).
    """
    c = bench.client
    for s in (*staff.clinician_sockets, staff.officer_socket):
        s.drain()
    sent = time.perf_counter()
    rid = (await c.call(staff.officer, "POST", "/api/v1/requests", REQUEST_FORM))["id"]
    arrivals = [await s.arrival(is_created(rid)) for s in staff.clinician_sockets]
    accepting = time.perf_counter()
    await c.call(clinician, "POST", f"/api/v1/requests/{rid}/accept")
    told = await staff.officer_socket.arrival(is_updated(rid, "in_session"))
    await c.call(clinician, "POST", f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    await staff.officer_socket.arrival(is_updated(rid, "completed"))
    return min(arrivals) - sent, max(arrivals) - sent, told - accepting


async def measure_latency(bench: Bench, staff: Staff, samples: int) -> dict[str, Any]:
    """Notify and accept latency over `samples` rounds after a short warm-up."""
    first, every, accept = [], [], []
    for i in range(samples + 10):
        clinician = staff.clinicians[i % len(staff.clinicians)]
        notified, all_notified, told = await one_round(bench, staff, clinician)
        if i >= 10:
            first.append(notified)
            every.append(all_notified)
            accept.append(told)
        await asyncio.sleep(0.06)  # let the coalesced queue broadcast go out
    floor = bench.results["floor"]
    notify = summary_ms(first)
    accepted = summary_ms(accept)
    return {
        "notify": {
            **notify,
            "waiting": len(staff.waiting),
            "clinicians": len(staff.clinicians),
            "all_clinicians": summary_ms(every),
            "ratio": ratios(notify, floor),
        },
        "accept": {**accepted, "ratio": ratios(accepted, floor)},
    }


async def lifecycle_loop(
    bench: Bench,
    officer: Session,
    clinician: Session,
    until: float,
    done: list[tuple[float, float]],
) -> None:
    """Run full lifecycles back to back until `until`, recording (start, end) of each."""
    c = bench.client
    while (started := time.perf_counter()) < until:
        rid = (await c.call(officer, "POST", "/api/v1/requests", REQUEST_FORM))["id"]
        await c.call(clinician, "POST", f"/api/v1/requests/{rid}/accept")
        await c.call(
            officer,
            "POST",
            f"/api/v1/requests/{rid}/messages",
            {"text": "We are at the bus station; she is calmer now."},
        )
        await c.call(
            clinician,
            "POST",
            f"/api/v1/requests/{rid}/messages",
            {"text": "Thanks. Can I speak with her?"},
        )
        await c.call(clinician, "POST", f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
        done.append((started, time.perf_counter()))


@dataclass
class Pairs:
    """Officer/clinician pairs, every one signed in with a socket open."""

    officers: list[Session]
    clinicians: list[Session]
    sockets: list[LiveSocket]


async def pair_up(bench: Bench, staff: Staff, pairs: int) -> Pairs:
    """Sign in `pairs` officers (with sockets) to work with the first `pairs` clinicians."""
    officers = await bench.logins(await bench.users(Role.OFFICER, pairs, "pair-officer"))
    for s in (*staff.clinician_sockets, staff.officer_socket):
        s.keep = False
    return Pairs(
        officers,
        staff.clinicians[:pairs],
        [await bench.client.socket(s, keep=False) for s in officers],
    )


async def live_lag_ms(bench: Bench, staff: Staff) -> float:
    """Notify latency of one new request: shows whether the live channel kept up."""
    listener = staff.clinician_sockets[0]
    listener.keep = True
    listener.drain()
    sent = time.perf_counter()
    rid = (await bench.client.call(staff.officer, "POST", "/api/v1/requests", REQUEST_FORM))["id"]
    arrived = await listener.arrival(is_created(rid), timeout=120)
    listener.keep = False
    await bench.client.call(staff.officer, "POST", f"/api/v1/requests/{rid}/cancel")
    return round((arrived - sent) * 1000, 1)


def host_probe_ms() -> float:
    """CPU time of a fixed pure-Python loop: how fast this shared machine is just now (the
    same build's throughput moves with it)."""
    started, total = time.process_time(), 0
    for i in range(1_000_000):
        total += i * i
    return round((time.process_time() - started) * 1000, 1)


async def measure_throughput(
    bench: Bench, staff: Staff, pairs: Pairs, seconds: float
) -> dict[str, Any]:
    """Full lifecycles per second, every pair working back to back, after a 2 s warm-up;
    then how late the live channel is (a backlog of wake-ups would show here)."""
    warmup = 2.0
    done: list[tuple[float, float]] = []
    pids = [bench.deployment.server_pid, *filter(None, [bench.deployment.redis_pid])]

    def cpu_now() -> list[float]:
        return [*map(cpu_seconds, pids), time.process_time(), machine_cpu_seconds()]

    probe_before = host_probe_ms()
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)
    loops = [
        asyncio.create_task(lifecycle_loop(bench, o, c, window[1], done))
        for o, c in zip(pairs.officers, pairs.clinicians, strict=True)
    ]
    await asyncio.sleep(warmup)
    cpu_before = cpu_now()
    await asyncio.gather(*loops)
    elapsed = time.perf_counter() - window[0]
    used = [100 * (a - b) / elapsed for a, b in zip(cpu_now(), cpu_before, strict=True)]
    counted = [end - begin for begin, end in done if window[0] <= end <= window[1]]
    lag = await live_lag_ms(bench, staff)
    return {
        "pairs": len(pairs.officers),
        "seconds": round(elapsed, 2),
        "notify_right_after_ms": lag,
        "host_probe_ms": [probe_before, host_probe_ms()],
        "lifecycles": len(counted),
        "lifecycles_per_s": round(len(counted) / seconds, 1),
        "server_cpu_ms_per_lifecycle": round(10 * used[0] * elapsed / max(1, len(counted)), 2),
        "http_requests_per_s": round(5 * len(counted) / seconds, 1),
        "lifecycle_ms": summary_ms(counted),
        "per_second": [
            sum(1 for _, end in done if window[0] + i <= end < window[0] + i + 1)
            for i in range(math.ceil(seconds))
        ],
        "cpu_pct": {
            "server": round(used[0]),
            "redis": round(used[1]) if len(pids) > 1 else 0,
            "bench": round(used[-2]),
            "other_processes": max(0, round(used[-1] - sum(used[:-1]))),
        },
    }


async def measure_call_setup(bench: Bench, calls: int) -> dict[str, Any]:
    """Accept → data channel open on both headless aiortc peers (median of `calls`)."""
    try:
        from triage_service.rtc.headless import HeadlessPeer
    except ImportError as e:
        return {"skipped": f"headless peers unavailable: {e}"}
    (officer_user,) = await bench.users(Role.OFFICER, 1, "call-officer")
    (clinician_user,) = await bench.users(Role.CLINICIAN, 1, "call-clinician")
    base = bench.deployment.base_url
    officer = await HeadlessPeer.signed_in(base, officer_user.username, PASSWORD)
    clinician = await HeadlessPeer.signed_in(base, clinician_user.username, PASSWORD)
    setups = []
    try:
        await officer.client.open_live()
        await clinician.client.open_live()
        await clinician.client.request("PUT", "/api/v1/availability", {"status": "available"})
        for _ in range(calls):
            setups.append(await one_call(officer, clinician))
    finally:
        await officer.close()
        await clinician.close()
    return {
        "samples": calls,
        "median_ms": round(statistics.median(setups) * 1000, 1),
        "all_ms": [round(s * 1000, 1) for s in setups],
    }


async def one_call(officer: Any, clinician: Any) -> float:
    """One request, accepted and called; seconds from accept to both data channels open."""
    rid = (await officer.client.request("POST", "/api/v1/requests", REQUEST_FORM))["id"]
    accepted = time.perf_counter()
    await clinician.client.request("POST", f"/api/v1/requests/{rid}/accept")
    await clinician.call(rid)
    while True:
        told = (await officer.client.next_event("request.updated"))["request"]
        if told["id"] == rid and told["status"] == "in_session":
            break
    await officer.call(rid)
    for peer in (officer, clinician):
        await peer.data_channel_open()
    setup = time.perf_counter() - accepted
    for peer in (officer, clinician):
        await peer.hang_up()
    await clinician.client.request("POST", f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    return setup


@dataclass
class Crowd:
    """Many signed-in sockets: officers with a waiting request each, and idle ones."""

    waiting: dict[str, LiveSocket]  # request id → its officer's socket
    idle: list[LiveSocket]

    @property
    def sockets(self) -> list[LiveSocket]:
        """Every socket of the crowd."""
        return [*self.waiting.values(), *self.idle]

    async def close(self) -> None:
        """Close every socket."""
        await bounded(200, (s.close() for s in self.sockets))


async def crowd_up(bench: Bench, sockets: int, waiting: int) -> Crowd:
    """`sockets` distinct sessions with a socket each; the first `waiting` have a request."""
    c = bench.client
    officers = await bench.sessions(await bench.users(Role.OFFICER, sockets, "crowd"))
    log(f"  {len(officers)} sessions open; queueing {waiting} requests")
    created = await bounded(
        8, (c.call(s, "POST", "/api/v1/requests", REQUEST_FORM) for s in officers[:waiting])
    )
    log(f"  connecting {sockets} sockets")
    live = await bounded(50, (c.socket(s) for s in officers))
    return Crowd({r["id"]: s for r, s in zip(created, live, strict=False)}, live[waiting:])


async def fan_out_once(bench: Bench, crowd: Crowd, clinician: Session) -> list[float]:
    """A clinician takes the first request; seconds until each still-waiting officer knows."""
    for s in crowd.sockets:
        s.drain()
    started = time.perf_counter()
    taken = await bench.client.call(clinician, "POST", "/api/v1/queue/next")
    crowd.waiting.pop(taken["id"]).drain()
    left = len(crowd.waiting)

    def changed(m: dict[str, Any]) -> bool:
        return m.get("type") == "queue.changed" and m.get("waiting") == left

    arrivals = await asyncio.gather(
        *(s.arrival(changed, timeout=30) for s in crowd.waiting.values())
    )
    await bench.client.call(
        clinician, "POST", f"/api/v1/requests/{taken['id']}/outcome", OUTCOME_FORM
    )
    await asyncio.sleep(0.5)
    return [a - started for a in arrivals]


async def measure_capacity(
    bench: Bench, staff: Staff, sockets: int, waiting: int, changes: int
) -> dict[str, Any]:
    """RSS with `sockets` signed-in sockets open (the clinicians' included), and the queue
    fan-out to `waiting` officers."""
    pid, clinician = bench.deployment.server_pid, staff.clinicians[0]
    before = rss_mb(pid)
    crowd = await crowd_up(bench, sockets - len(staff.clinician_sockets), waiting)
    try:
        await asyncio.sleep(1.0)
        with_sockets = rss_mb(pid)
        log(f"  {sockets} sockets open, server RSS {with_sockets} MiB; fanning out")
        deliveries: list[float] = []
        per_change = []
        for _ in range(changes):
            times = await fan_out_once(bench, crowd, clinician)
            deliveries += times
            per_change.append(round(max(times) * 1000, 1))
        peak = max(with_sockets, rss_mb(pid))
    finally:
        await crowd.close()
    return {
        "sockets": sockets,
        "distinct_sessions": sockets,
        "mix": {
            "waiting_officers": waiting,
            "idle_officers": len(crowd.idle),
            "clinicians": len(staff.clinician_sockets),
        },
        "rss_mb": peak,
        "rss_before_sockets_mb": before,
        "per_socket_kb": round((with_sockets - before) * 1024 / sockets, 1),
        "fanout": {
            "waiting_officers": waiting,
            "changes": changes,
            **summary_ms(deliveries),
            "last_delivery_ms": per_change,
        },
    }


async def run_stats_bench(bench: Bench, timeout_s: float) -> dict[str, Any] | None:
    """Run scripts/bench_stats.py (if the project has it) against this run's Redis.

    It bulk-loads 100,000 requests, so a private Redis stops fsyncing every write first: the
    stats figure is about reading, not durability.
    """
    script = ROOT / "scripts" / "bench_stats.py"
    if not script.exists():
        return None
    log(f"stats flatness: scripts/bench_stats.py (at most {timeout_s:.0f} s)")
    if not bench.deployment.external_redis:
        await bench.store.client.config_set("appendfsync", "no")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TRIAGE_REDIS_URL": bench.deployment.redis_url},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"error": f"timed out after {timeout_s:.0f} s"}
    with contextlib.suppress(json.JSONDecodeError):
        found = json.loads(out)
        if isinstance(found, dict):
            return found
    return {
        "error": f"exit {process.returncode}, no JSON object",
        "stderr": err.decode(errors="replace")[-500:],
    }


# ---------------------------------------------------------------- report


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured figure and whether it is met."""
    measured = {
        "notify_p99_ms": results.get("notify", {}).get("p99"),
        "accept_p99_ms": results.get("accept", {}).get("p99"),
        "lifecycles_per_s": results.get("throughput", {}).get("lifecycles_per_s"),
        "rss_mb": results.get("capacity", {}).get("rss_mb"),
        "fanout_p99_ms": results.get("capacity", {}).get("fanout", {}).get("p99"),
        "stats_ratio": max((results.get("stats") or {}).get("ratio", {}).values(), default=None),
    }
    out: dict[str, Any] = {}
    for name, target in TARGETS.items():
        value = measured[name]
        higher_is_better = name == "lifecycles_per_s"
        met = None if value is None else (value >= target if higher_is_better else value <= target)
        out[name] = {"target": target, "measured": value, "met": met}
    return out


def table_rows(r: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(figure, value, note) rows for the readable table."""
    floor = r.get("floor", {})
    if floor:
        yield ("Redis PING round trip", f"{floor['redis_ping_ms']['p50']:.3f} ms", "median")
        yield ("/healthz round trip", f"{floor['healthz_ms']['p50']:.3f} ms", "median")
    for key, label in (
        ("notify", "notify (create → clinician /ws)"),
        ("accept", "accept (accept → officer /ws)"),
    ):
        if key in r:
            f = r[key]
            yield (
                label,
                f"p50 {f['p50']:.2f} / p99 {f['p99']:.2f} ms",
                f"{f['ratio']['p50_to_healthz']}x / {f['ratio']['p99_to_healthz']}x healthz",
            )
    if "throughput" in r:
        t = r["throughput"]
        busy = next(v for k, v in t.items() if k.startswith("with_"))
        for label, f in (("lifecycles per second", t), ("  ... with the queue full", busy)):
            yield (
                label,
                f"{f['lifecycles_per_s']}",
                f"{f['pairs']} pairs, {f['server_cpu_ms_per_lifecycle']} ms server CPU each, "
                f"notify right after {f['notify_right_after_ms']} ms, "
                f"host probe {f['host_probe_ms'][0]}/{f['host_probe_ms'][1]} ms; "
                f"cpu % server {f['cpu_pct']['server']} bench {f['cpu_pct']['bench']} "
                f"redis {f['cpu_pct']['redis']} others {f['cpu_pct']['other_processes']}",
            )
    if "call_setup" in r and "median_ms" in r["call_setup"]:
        yield ("call setup (accept → data channel)", f"{r['call_setup']['median_ms']} ms", "median")
    if "capacity" in r:
        cap = r["capacity"]
        yield (
            f"{cap['sockets']} sockets: server RSS",
            f"{cap['rss_mb']} MiB",
            f"{cap['per_socket_kb']} KiB per socket",
        )
        fan = cap["fanout"]
        yield (
            f"queue change → {fan['waiting_officers']} officers",
            f"p50 {fan['p50']:.1f} / p99 {fan['p99']:.1f} ms",
            f"{fan['changes']} changes",
        )
    stats = r.get("stats") or {}
    if "ratio" in stats:
        small, large = stats.get("requests", ["small", "large"])
        yield (
            f"GET /stats, {large:,} vs {small:,} requests",
            " / ".join(f"{w} x{v}" for w, v in stats["ratio"].items()),
            "ratio of medians",
        )


def print_table(results: dict[str, Any]) -> None:
    """The readable table, on stderr."""
    rows = list(table_rows(results))
    width = max(len(r[0]) for r in rows) + 2
    print("", file=sys.stderr)
    for name, value, note in rows:
        print(f"{name:<{width}}{value:<28}{note}", file=sys.stderr)
    for name, v in results["targets"].items():
        mark = {True: "met", False: "MISSED", None: "not measured"}[v["met"]]
        print(f"target {name} {v['target']}: {v['measured']} {mark}", file=sys.stderr)


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--redis-url", help="use this Redis (unique key prefix) instead of a private redis-server"
    )
    p.add_argument(
        "--appendfsync",
        choices=["always", "everysec", "no"],
        default="always",
        help="the private Redis's AOF fsync policy (the embedded default: always)",
    )
    p.add_argument("--samples", type=int, default=200, help="notify/accept rounds")
    p.add_argument("--waiting", type=int, default=200, help="requests waiting during them")
    p.add_argument("--clinicians", type=int, default=20, help="clinicians connected")
    p.add_argument("--pairs", type=int, default=20, help="officer/clinician pairs")
    p.add_argument("--throughput-seconds", type=float, default=10.0)
    p.add_argument("--calls", type=int, default=5, help="headless calls for call set-up")
    p.add_argument("--sockets", type=int, default=2000, help="signed-in sockets")
    p.add_argument("--fanout-officers", type=int, default=500)
    p.add_argument("--fanout-changes", type=int, default=5)
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["latency", "throughput", "calls", "capacity", "stats"],
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=290.0,
        help="stop the stats benchmark when the whole run reaches this many seconds",
    )
    p.add_argument("--json-out", type=Path, help="also write the JSON object to this file")
    p.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile the server per phase with py-spy into DIR (collapsed stacks)",
    )
    args = p.parse_args(argv)
    if args.pairs > args.clinicians:
        p.error("--pairs cannot exceed --clinicians")
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the deployment, run every phase, clean up; return the results."""
    started = time.perf_counter()
    deployment = Deployment(redis_url=args.redis_url, appendfsync=args.appendfsync)
    client: Client | None = None
    try:
        deployment.start_processes()
        await deployment.wait_ready()
        client = Client(deployment.base_url)
        bench = Bench(deployment, client, args)
        await run_phases(bench)
        bench.results["elapsed_s"] = round(time.perf_counter() - started, 1)
        return bench.results
    finally:
        if client is not None:
            await client.close()
        await deployment.close()


async def run_phases(bench: Bench) -> None:
    """Every phase in order, each adding to `bench.results`."""
    args, r, pid = bench.args, bench.results, bench.deployment.server_pid
    r["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "redis": ("external" if args.redis_url else f"private, appendfsync {args.appendfsync}"),
        "server_rss_at_start_mb": rss_mb(pid),
        "other_processes_cpu_pct_at_start": await others_cpu_pct(bench, 2.0),
    }
    if r["machine"]["other_processes_cpu_pct_at_start"] > 20:
        log(
            f"warning: other processes use {r['machine']['other_processes_cpu_pct_at_start']}% "
            "CPU; the figures will be noisy"
        )
    log("floor: Redis PING and /healthz")
    for _ in range(50):
        await bench.client.healthz()
    r["floor"] = await measure_floor(bench, 300)
    log(f"accounts and {args.waiting} waiting requests, {args.clinicians} clinicians")
    staff = await staff_up(bench, args.clinicians, args.waiting)
    if "latency" not in args.skip:
        log(f"notify and accept latency: {args.samples} rounds")
        with profiled(bench, "latency"):
            r.update(await measure_latency(bench, staff, args.samples))
    if "throughput" in args.skip:
        await cancel_waiting(bench, staff)
    else:
        await measure_both_throughputs(bench, staff)
    if "calls" not in args.skip:
        log(f"call set-up: {args.calls} headless aiortc calls")
        r["call_setup"] = await measure_call_setup(bench, args.calls)
    if "capacity" not in args.skip:
        log(f"capacity: {args.sockets} sockets, fan-out to {args.fanout_officers} officers")
        with profiled(bench, "capacity"):
            r["capacity"] = await measure_capacity(
                bench, staff, args.sockets, args.fanout_officers, args.fanout_changes
            )
    await staff.close()
    r["floor_after"] = await measure_floor(bench, 100)
    budget = args.budget_s - (time.perf_counter() - bench.started)
    r["stats"] = None if "stats" in args.skip else await run_stats_bench(bench, max(60, budget))
    r["targets"] = verdicts(r)


async def measure_both_throughputs(bench: Bench, staff: Staff) -> None:
    """Lifecycle throughput with the latency phases' requests still waiting, then without."""
    args = bench.args
    pairs = await pair_up(bench, staff, args.pairs)
    log(
        f"lifecycle throughput: {args.pairs} pairs for {args.throughput_seconds:.0f} s, "
        f"{args.waiting} requests waiting"
    )
    busy_queue = await measure_throughput(bench, staff, pairs, args.throughput_seconds)
    await cancel_waiting(bench, staff)
    log(f"lifecycle throughput: {args.pairs} pairs for {args.throughput_seconds:.0f} s")
    with profiled(bench, "throughput"):
        bench.results["throughput"] = await measure_throughput(
            bench, staff, pairs, args.throughput_seconds
        )
    bench.results["throughput"][f"with_{args.waiting}_waiting"] = busy_queue
    await asyncio.gather(*(s.close() for s in pairs.sockets))


async def cancel_waiting(bench: Bench, staff: Staff) -> None:
    """Withdraw the latency phases' waiting requests and close their sockets."""
    await bounded(
        8,
        (
            bench.client.call(s, "POST", f"/api/v1/requests/{rid}/cancel")
            for s, rid in staff.waiting
        ),
    )
    await staff.close_officers()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the JSON object (stdout) and the table (stderr)."""
    args = parse_args(argv)
    results = asyncio.run(run(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print_table(results)


if __name__ == "__main__":
    main()
