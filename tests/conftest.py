"""Shared fixtures: a real Redis under a per-test key prefix, the app on a real HTTP server,
and signed-in API clients for each role."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store.base import entry
from triage_service.store.maintenance import delete_prefix
from triage_service.tools.call_flow import accept, raise_request
from triage_service.tools.client import ANONYMOUS, ServiceClient
from triage_service.tools.forms import OUTCOME_FORM as OUTCOME_FORM
from triage_service.tools.forms import REQUEST_FORM as REQUEST_FORM
from triage_service.tools.forms import request_form
from triage_service.web.app import create_app
from triage_service.web.state import STORE

REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"
# One real argon2id hash for every test account: hashing per user would dominate run time.
# Its parameters are light (they travel inside the hash), so each sign-in still runs the real
# argon2id verification without the production cost of ~0.2 s per sign-in on a small machine.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)


class ApiClient(ServiceClient):
    """The service's client on a test HTTP client (`.client`), signed in as `user`."""

    def __init__(self, client: TestClient[Any, Any], user: User, csrf: str) -> None:
        super().__init__(str(client.make_url("")), http=client, user=user, csrf=csrf)
        self.client = client


SignInFactory = Callable[..., Awaitable[ApiClient]]


@pytest.fixture
def key_prefix() -> str:
    """A fresh key prefix so tests never see each other's data."""
    return f"test:{secrets.token_hex(6)}:"


@pytest.fixture
async def redis_client(key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the test Redis; the test's keys are deleted afterwards."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await delete_prefix(client, key_prefix)
    await client.aclose()


def pytest_configure(config: pytest.Config) -> None:
    """Register the `settings` marker."""
    config.addinivalue_line(
        "markers", "settings(**overrides): Settings overrides for this test's app"
    )


@pytest.fixture
def settings(key_prefix: str, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at the test Redis under the test's prefix.

    `@pytest.mark.settings(max_wait_s=1)` on a test overrides any setting for its app.
    """
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = {"sweep_interval_s": 0.1, **(marker.kwargs if marker else {})}
    return Settings(redis_url=REDIS_URL, key_prefix=key_prefix, **overrides)


@pytest.fixture
async def app(settings: Settings, redis_client: aioredis.Redis) -> web.Application:
    """The application, not yet started."""
    return create_app(settings)


@pytest.fixture
async def server(app: web.Application) -> AsyncIterator[TestServer]:
    """The app on a real HTTP server on a free port."""
    test_server = TestServer(app)
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def second_server(settings: Settings) -> AsyncIterator[TestServer]:
    """A second instance of the service sharing the first one's Redis and key prefix."""
    test_server = TestServer(create_app(settings))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def create_account(
    app: web.Application,
    role: Role,
    username: str | None = None,
    display_name: str | None = None,
    team: str | None = None,
) -> User:
    """Write an account straight to the store with the shared password hash (a receiver
    with its `team`)."""
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
        mapping=entry({**user.as_dict(), "password_hash": PASSWORD_HASH, "created_ms": 0}),
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
