"""Shared fixtures: a real Redis under a per-test key prefix, the app on a real HTTP server,
and signed-in API clients for each role."""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import STORE

REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"
# One real argon2id hash for every test account: hashing per user would dominate run time.
# Its parameters are light (they travel inside the hash), so each sign-in still runs the real
# argon2id verification without the production cost of ~0.2 s per sign-in on a small machine.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)

REQUEST_FORM: dict[str, Any] = {
    "incident_ref": "PS-20261126-0042",
    "location": {
        "description": "Bus station, Buchanan St",
        "area": "Glasgow City Centre",
        "lat": 55.86,
        "lon": -4.25,
    },
    "subject": {"age_band": "26_40", "sex": "female", "known_name": "Jane"},
    "urgency": "urgent",
    "concerns": ["suicidal_thoughts", "distress"],
    "screening": {
        "cssrs": {
            "q1": True,
            "q2": True,
            "q3": False,
            "q4": False,
            "q5": False,
            "q6_lifetime": False,
            "q6_recent": False,
        }
    },
    "mode": "video",
    "consent": True,
    "notes": "Sitting on the platform edge, calm now.",
}

OUTCOME_FORM: dict[str, Any] = {
    "triage_code": "C",
    "disposition": "urgent_face_to_face",
    "risk": {"to_self": "high", "to_others": "low", "from_others": "none", "self_neglect": "low"},
    "conveyance": "none",
    "summary": "Distressed, suicidal ideation without plan. Safety plan agreed.",
    "advice_to_officer": "Stay with her until the crisis team arrives within 24 hours.",
    "referral": {"service": "crisis_team", "urgency": "C"},
}


class ApiClient:
    """An HTTP client signed in as one user; adds the CSRF header to every change."""

    def __init__(self, client: TestClient, user: User, csrf: str) -> None:
        self.client = client
        self.user = user
        self.csrf = csrf

    async def call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send a request; return the status and the decoded JSON (or None)."""
        all_headers = {"X-CSRF-Token": self.csrf, **(headers or {})}
        async with self.client.request(method, path, json=json, headers=all_headers) as r:
            body = await r.json() if r.content_type == "application/json" else None
            return r.status, body

    async def get(self, path: str) -> tuple[int, Any]:
        return await self.call("GET", path)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json if json is not None else {}, **kw)


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
    keys = [k async for k in client.scan_iter(match=key_prefix + "*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.delete(*keys[start : start + 500])
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
    app: web.Application, role: Role, username: str | None = None, display_name: str | None = None
) -> User:
    """Write an account straight to the store with the shared password hash."""
    store = app[STORE]
    username = username or f"{role.value}-{secrets.token_hex(3)}"
    user = User(
        id=secrets.token_hex(8),
        username=username,
        display_name=display_name or f"{role.value.title()} {secrets.token_hex(2)}",
        role=role,
    )
    await store.client.hset(store.keys("users"), user.username.lower(), user.id)
    await store.client.hset(
        store.keys.user(user.id),
        mapping={**user.as_dict(), "password_hash": PASSWORD_HASH, "created_ms": 0},
    )
    return user


@pytest.fixture
async def sign_in(server: TestServer) -> AsyncIterator[SignInFactory]:
    """Factory: `await sign_in("clinician")` → an ApiClient signed in as a new account."""
    clients: list[TestClient] = []

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
    async with client.post(
        "/api/v1/login", json={"username": user.username, "password": PASSWORD}
    ) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    return ApiClient(client, user, body["csrf_token"])


@pytest.fixture
async def anonymous(server: TestServer) -> AsyncIterator[ApiClient]:
    """A client that is not signed in (it sends an empty CSRF header)."""
    client = TestClient(server)
    await client.start_server()
    yield ApiClient(client, User(id="", username="", display_name="", role=Role.OFFICER), "")
    await client.close()


def request_form(**changes: Any) -> dict[str, Any]:
    """A deep copy of REQUEST_FORM with top-level fields replaced."""
    return {**copy.deepcopy(REQUEST_FORM), **copy.deepcopy(changes)}


async def new_request(officer: ApiClient, **changes: Any) -> dict[str, Any]:
    """Create a request as `officer` (REQUEST_FORM with `changes`); return it."""
    status, body = await officer.post("/api/v1/requests", request_form(**changes))
    assert status == 201, body
    return dict(body)


async def in_session(officer: ApiClient, clinician: ApiClient, **changes: Any) -> dict[str, Any]:
    """A request created by `officer` and accepted by `clinician`; return it."""
    created = await new_request(officer, **changes)
    status, body = await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 200, body
    return dict(body)


async def read_events(client: aioredis.Redis, prefix: str) -> list[dict[str, str]]:
    """Every entry of the `{prefix}events` stream, oldest first."""
    return [fields for _id, fields in await client.xrange(prefix + "events")]


async def delete_prefix(client: aioredis.Redis, prefix: str) -> None:
    """Delete every key under `prefix`."""
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.delete(*keys[start : start + 500])


class Deployment:
    """The app on a real HTTP server with its own key prefix, for fixtures of any scope."""

    def __init__(self, server: TestServer, prefix: str) -> None:
        self.server = server
        self.prefix = prefix
        self.clients: list[TestClient] = []

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
        return ApiClient(client, User(id="", username="", display_name="", role=Role.OFFICER), "")


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
