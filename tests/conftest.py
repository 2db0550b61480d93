"""Shared fixtures: a real Redis under a per-test key prefix, the app on a real HTTP server,
and signed-in API clients for each role."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import FunctionType
from typing import TYPE_CHECKING, Any, cast

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from xdist.scheduler import LoadGroupScheduling

from doc_tests import function_name, named_tests, unproven
from triage_client.call_flow import accept, raise_request
from triage_client.client import ANONYMOUS, ServiceClient
from triage_client.forms import OUTCOME_FORM as OUTCOME_FORM
from triage_client.forms import REQUEST_FORM as REQUEST_FORM
from triage_client.forms import request_form
from triage_service.domain.codes import Role
from triage_service.domain.times import Clock, wall_clock_ms
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store.base import entry
from triage_service.store.maintenance import delete_prefix
from triage_service.web.app import create_app
from triage_service.web.state import STORE

if TYPE_CHECKING:  # support.commands imports this module
    from support.commands import Server

TESTS = Path(__file__).resolve().parent
BROWSER_TESTS = "tests/browser/"  # as the test ids start, from the top level
# Browser tests whose calls carry media between several pages, networks or relays.
BROWSER_CALLS = frozenset(
    {
        "test_call.py",
        "test_call_announcements.py",
        "test_conncheck.py",
        "test_consult.py",
        "test_degrade.py",
        "test_guest.py",
        "test_networks.py",
        "test_session_layout.py",
        "test_transfer.py",
    }
)
# Modules whose module-scoped fixture starts processes (a service, a provider, a build): their
# tests run on one worker, so it starts once (three times on three workers cost the
# schemathesis tests 29 s of setup against 10).
SET_UP_ONCE = frozenset(
    {
        "test_deploy.py",
        "test_identity_oidc.py",
        "test_packaging.py",
        "test_schemathesis.py",
        "test_security_parser.py",
    }
)
# Modules of the slow tier besides tests/browser/ (processes, clusters, peers, load).
SLOW_FILES = frozenset(
    f"test_{name}.py"
    for name in [
        "backup",
        "cli",
        "crash_faults",
        "deploy",
        "drain",
        "durability",
        "embedded",
        "embedded_modes",
        "failover",
        "headless_call",
        "packaging",
        "presence_faults",
        "rtc",
        "schemathesis",
        "security_parser",
        "security_proxies",
        "signin_load",
        "simulate",
        "store_stall",
    ]
)
REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"
# The store deadline of the tests that freeze Redis (SIGSTOP): long enough for the sign-in
# before the freeze and the calls after it on a loaded machine (0.5 s answered a sign-in 503 in
# a whole run), short enough for the answers they wait out while it is frozen.
FROZEN_STORE_DEADLINE_S = 2.0
# One real argon2id hash for every test account: hashing per user would dominate run time.
# Its parameters are light (they travel inside the hash), so each sign-in still runs the real
# argon2id verification without the production cost of ~0.2 s per sign-in on a small machine.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)


class FakeClock:
    """Epoch milliseconds that a test moves by hand: the app's `clock` (create_app(...,
    clock=...)), so timers, graces, expiry and alarms follow it instead of real sleeps."""

    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now_ms += int(seconds * 1000)


class ApiClient(ServiceClient):
    """The service's client on a test HTTP client (`.client`), signed in as `user`."""

    def __init__(self, client: TestClient[Any, Any], user: User, csrf: str) -> None:
        super().__init__(str(client.make_url("")), http=client, user=user, csrf=csrf)
        self.client = client


SignInFactory = Callable[..., Awaitable[ApiClient]]


def delete_keys(prefix: str) -> None:
    """Remove every Redis key under `prefix`."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A fresh key prefix so tests never see each other's data; every key under it is
    deleted after the test, whoever wrote it (the app, a command, a process of the test's)."""
    prefix = f"test:{secrets.token_hex(6)}:"
    yield prefix
    delete_keys(prefix)


@pytest.fixture
async def redis_client(key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the test Redis (the test's keys go with its `key_prefix`)."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True, scope="session")
def password_alone_signs_in() -> Iterator[None]:
    """In tests, no role needs a second factor unless the test says so
    (`mfa_required_roles=...`, as tests/test_mfa.py does): the service's own default asks
    supervisors and admins for one, and the tests of everything else sign them in with a
    password alone, whatever Settings they build."""
    init = cast(FunctionType, Settings.__init__)
    defaults = init.__kwdefaults__
    assert defaults is not None
    declared = defaults["mfa_required_roles"]
    defaults["mfa_required_roles"] = ""
    yield
    defaults["mfa_required_roles"] = declared


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, and the check of the documents' named tests on a whole run."""
    config.addinivalue_line(
        "markers", "settings(**overrides): Settings overrides for this test's app"
    )
    config.addinivalue_line(
        "markers", "fake_clock: the app runs on a FakeClock the test moves (fixture `clock`)"
    )
    config.addinivalue_line(
        "markers", "slow: browsers, networks, processes and clusters (`-m 'not slow'` skips them)"
    )
    if whole_suite(config) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(NamedTestsCheck(), "named-tests-check")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tier: every test in a `SLOW_FILES` module or under tests/browser/."""
    for item in items:
        path = item.path.relative_to(TESTS).as_posix()
        if path.startswith("browser/") or path in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadgroup`, the browser tests form two groups, each run on one worker at a
    time: the calls (never two at once: a Chromium per core would starve the media they
    measure) and the other pages; each module of `SET_UP_ONCE` is a group of its own. xdist's
    own groups (`xdist_group` marks) do not work with pytest 9, which no longer lets a plugin
    rename a test, so the group is chosen here, from the test's path."""
    if config.getvalue("dist") != "loadgroup":
        return None

    class BrowserGroups(LoadGroupScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            if not nodeid.startswith(BROWSER_TESTS):
                module = nodeid.split("::")[0]
                return module if module.removeprefix("tests/") in SET_UP_ONCE else nodeid
            module = nodeid.removeprefix(BROWSER_TESTS).split("::")[0]
            return "browser-calls" if module in BROWSER_CALLS else "browser-pages"

    return BrowserGroups(config, log)


def whole_suite(config: pytest.Config) -> bool:
    """Whether this run is the whole suite: no file, keyword or marker selection."""
    paths = {Path(arg.split("::")[0]).resolve() for arg in config.args} or {TESTS}
    return paths <= {TESTS, TESTS.parent} and not (
        config.option.keyword or config.option.markexpr or getattr(config.option, "lf", False)
    )


class NamedTestsCheck:
    """Fails a whole run unless every test the documents name was collected and passed."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}  # node id → its worst outcome so far

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each test's outcome (a failed setup or teardown fails it; a skip is a skip)."""
        counts = report.when == "call" or report.outcome != "passed"
        if counts and self.outcomes.get(report.nodeid) in (None, "passed"):
            self.outcomes[report.nodeid] = report.outcome

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Turn a green run red when a named test is missing, skipped or failed."""
        if session.exitstatus != pytest.ExitCode.OK or session.config.option.collectonly:
            return  # failures are reported already; a stopped or collect-only run ran none
        by_name: dict[str, set[str]] = {}
        for nodeid, outcome in self.outcomes.items():
            by_name.setdefault(function_name(nodeid), set()).add(outcome)
        problems = unproven(named_tests(), by_name)
        if problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            lines = ["tests named as proof in the documents did not pass:", *problems]
            if reporter is not None:
                reporter.write_line("\n".join(lines), red=True)


@pytest.fixture
def settings(key_prefix: str, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at the test Redis under the test's prefix.

    `@pytest.mark.settings(max_wait_s=1)` on a test overrides any setting for its app.
    """
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = {"sweep_interval_s": 0.1, **(marker.kwargs if marker else {})}
    return Settings(redis_url=REDIS_URL, key_prefix=key_prefix, **overrides)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """The app's clock: the wall clock, or a `FakeClock` for a test marked `fake_clock` (a
    module may also give its own `clock` fixture); every instance of the test runs on it."""
    return FakeClock() if request.node.get_closest_marker("fake_clock") else wall_clock_ms


@pytest.fixture
async def app(settings: Settings, redis_client: aioredis.Redis, clock: Clock) -> web.Application:
    """The application on `clock`, not yet started."""
    return create_app(settings, clock=clock)


@pytest.fixture(scope="session")
def server_ports() -> tuple[int, int]:
    """The ports of `server` and `second_server`: any free one (0); the browser tests keep the
    same ones from test to test (tests/browser/conftest.py)."""
    return 0, 0


async def started(app: web.Application, port: int) -> TestServer:
    """`app` on a real HTTP server on `port`, or on a free port if that one is taken."""
    test_server = TestServer(app, port=port)
    try:
        await test_server.start_server()
    except OSError:
        test_server = TestServer(app)
        await test_server.start_server()
    return test_server


@pytest.fixture
async def server(app: web.Application, server_ports: tuple[int, int]) -> AsyncIterator[TestServer]:
    """The app on a real HTTP server."""
    test_server = await started(app, server_ports[0])
    yield test_server
    await test_server.close()


@pytest.fixture
async def second_server(
    settings: Settings, clock: Clock, server_ports: tuple[int, int]
) -> AsyncIterator[TestServer]:
    """A second instance of the service sharing the first one's Redis, key prefix and clock."""
    test_server = await started(create_app(settings, clock=clock), server_ports[1])
    yield test_server
    await test_server.close()


async def create_account(
    app: web.Application,
    role: Role,
    username: str | None = None,
    display_name: str | None = None,
    team: str | None = None,
    phone: str | None = None,
    boards: str = "",
) -> User:
    """Write an account straight to the store with the shared password hash (a receiver
    with its `team`; any with a call-back `phone`; staff covering `boards`, B1,B2)."""
    store = app[STORE]
    username = username or f"{role.value}-{secrets.token_hex(3)}"
    user = User(
        id=secrets.token_hex(8),
        username=username,
        display_name=display_name or f"{role.value.title()} {secrets.token_hex(2)}",
        role=role,
        team=team,
    )
    await store.client.hset(store.keys("users"), user.username.lower(), user.id)
    await store.client.hset(
        store.keys.user(user.id),
        mapping=entry(
            {
                **user.as_dict(),
                "password_hash": PASSWORD_HASH,
                "created_ms": 0,
                "phone": phone or "",
                "boards": boards,
            }
        ),
    )
    return user


@pytest.fixture
async def sign_in(server: TestServer) -> AsyncIterator[SignInFactory]:
    """Factory: `await sign_in("clinician")` → an ApiClient signed in as a new account."""
    clients: list[TestClient[Any, Any]] = []

    async def factory(role: str, **kw: Any) -> ApiClient:
        user = await create_account(server.app, Role(role), **kw)
        api = await log_in(server, user)
        clients.append(api.client)
        return api

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
async def people(server: TestServer) -> AsyncIterator[Callable[..., Awaitable[ApiClient]]]:
    """Factory: `await people("supervisor", "lothian")` → a signed-in account of a role
    covering some health boards (none given: all), a receiver with its `team`."""
    clients: list[ApiClient] = []

    async def factory(role: str, boards: str = "", team: str | None = None) -> ApiClient:
        user = await create_account(server.app, Role(role), team=team)
        store = server.app[STORE]
        await store.client.hset(store.keys.user(user.id), "boards", boards)
        api = await log_in(server, user)
        clients.append(api)
        return api

    yield factory
    for api in clients:
        await api.client.close()


async def log_in(server: TestServer, user: User) -> ApiClient:
    """A new HTTP client on `server` signed in as `user` (close its `.client` when done)."""
    client = TestClient(server)
    await client.start_server()
    api = ApiClient(client, user, "")
    await api.sign_in(user.username, PASSWORD)
    return api


@pytest.fixture
async def anonymous(server: TestServer) -> AsyncIterator[ApiClient]:
    """A client that is not signed in (it sends an empty CSRF header)."""
    client = TestClient(server)
    await client.start_server()
    yield ApiClient(client, ANONYMOUS, "")
    await client.close()


async def new_request(officer: ApiClient, **changes: Any) -> dict[str, Any]:
    """Create a request as `officer` (REQUEST_FORM with `changes`); return it."""
    return await raise_request(officer, request_form(**changes))


async def in_session(officer: ApiClient, clinician: ApiClient, **changes: Any) -> dict[str, Any]:
    """A request created by `officer` and accepted by `clinician`; return it."""
    created = await new_request(officer, **changes)
    return await accept(clinician, created["id"])


async def hand_back(clinician: ApiClient) -> None:
    """Release every session `clinician` is in (one at a time: a clinician in a session may
    not take another), so a test sharing one clinician can start the next."""
    store = cast(TestServer, clinician.client.server).app[STORE]
    for request_id in await store.clinicians.in_session(clinician.user.id):
        await clinician.request("POST", f"/api/v1/requests/{request_id}/release", {"reason": ""})


async def read_stream(client: aioredis.Redis, key: str) -> list[dict[str, str]]:
    """Every entry's fields of the stream `key`, oldest first."""
    return [cast(dict[str, str], fields) for _id, fields in await client.xrange(key) or []]


async def read_events(client: aioredis.Redis, prefix: str) -> list[dict[str, str]]:
    """Every entry of the `{prefix}events` stream, oldest first."""
    return await read_stream(client, prefix + "events")


class Deployment:
    """The app on a real HTTP server with its own key prefix, for fixtures of any scope."""

    def __init__(self, server: TestServer, prefix: str) -> None:
        self.server = server
        self.prefix = prefix
        self.clients: list[TestClient[Any, Any]] = []

    async def sign_in(self, role: str, **kw: Any) -> ApiClient:
        """A new account of `role`, signed in on its own client."""
        user = await create_account(self.server.app, Role(role), **kw)
        api = await log_in(self.server, user)
        self.clients.append(api.client)
        return api

    async def anonymous(self) -> ApiClient:
        """A client that is not signed in."""
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return ApiClient(client, ANONYMOUS, "")


@contextlib.asynccontextmanager
async def deployment(**overrides: Any) -> AsyncIterator[Deployment]:
    """Start the app on the test Redis under a fresh prefix; stop it and delete its keys."""
    prefix = f"test:{secrets.token_hex(6)}:"
    settings = Settings(
        **{"redis_url": REDIS_URL, "key_prefix": prefix, "sweep_interval_s": 0.1, **overrides}
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    running = Deployment(server, prefix)
    try:
        yield running
    finally:
        for client in running.clients:
            await client.close()
        await server.close()
        redis = aioredis.Redis.from_url(settings.redis_url or REDIS_URL, decode_responses=True)
        await delete_prefix(redis, prefix)
        await redis.aclose()


@contextlib.asynccontextmanager
async def on_duty(clinician: ApiClient) -> AsyncIterator[ApiClient]:
    """`clinician` on duty for the block: available, with a live socket open."""
    origin = str(clinician.client.make_url("/")).rstrip("/")
    ws = await clinician.client.ws_connect("/ws", headers={"Origin": origin})
    status, _ = await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200
    try:
        yield clinician
    finally:
        await ws.close()


@pytest.fixture
async def serving(tmp_path: Path) -> AsyncIterator[list[Server]]:
    """A list of started servers; any still running is killed after the test."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


@pytest.fixture
async def serve_process(key_prefix: str) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """`triage-service serve` processes started by a test; killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=10)


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, step: float = 0.1
) -> float:
    """Poll `check()` until it is true; the seconds it took (fails after `timeout`)."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "condition not met in time"
        await asyncio.sleep(step)
    return time.monotonic() - started
