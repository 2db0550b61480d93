"""Shared fixtures: a real Redis under a per-test key prefix, the app on a real HTTP server,
and signed-in API clients for each role."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from triage_service.accounts import User
from triage_service.app import create_app
from triage_service.domain import Role
from triage_service.settings import Settings
from triage_service.state import STORE

REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"
# One real argon2id hash for every test account: hashing per user would dominate run time.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)

REQUEST_FORM: dict[str, Any] = {
    "incident_ref": "PS-20261126-0042",
    "location": {"description": "Bus station, Buchanan St", "area": "Glasgow City Centre",
                 "lat": 55.86, "lon": -4.25},
    "subject": {"age_band": "26_40", "sex": "female", "known_name": "Jane"},
    "urgency": "urgent",
    "concerns": ["suicidal_thoughts", "distress"],
    "screening": {"cssrs": {"q1": True, "q2": True, "q3": False, "q4": False, "q5": False,
                            "q6_lifetime": False, "q6_recent": False}},
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

    async def call(self, method: str, path: str, json: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
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
        await client.delete(*keys[start:start + 500])
    await client.aclose()


@pytest.fixture
def settings(key_prefix: str) -> Settings:
    """Settings pointing at the test Redis under the test's prefix."""
    return Settings(redis_url=REDIS_URL, key_prefix=key_prefix, sweep_interval_s=0.1)


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


async def create_account(app: web.Application, role: Role, username: str | None = None,
                         display_name: str | None = None) -> User:
    """Write an account straight to the store with the shared password hash."""
    store = app[STORE]
    username = username or f"{role.value}-{secrets.token_hex(3)}"
    user = User(id=secrets.token_hex(8), username=username,
                display_name=display_name or f"{role.value.title()} {secrets.token_hex(2)}",
                role=role)
    await store.client.hset(store.keys("users"), user.username.lower(), user.id)
    await store.client.hset(store.keys.user(user.id),
                            mapping={**user.as_dict(), "password_hash": PASSWORD_HASH,
                                     "created_ms": 0})
    return user


@pytest.fixture
async def sign_in(server: TestServer) -> AsyncIterator[SignInFactory]:
    """Factory: `await sign_in("clinician")` → an ApiClient signed in as a new account."""
    clients: list[TestClient] = []

    async def factory(role: str, **kw: Any) -> ApiClient:
        user = await create_account(server.app, Role(role), **kw)
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        async with client.post("/api/v1/login",
                               json={"username": user.username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        return ApiClient(client, user, body["csrf_token"])

    yield factory
    for client in clients:
        await client.close()
