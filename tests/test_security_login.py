"""Sign-in guessing: atomic counters, progressive delays per account and address, and a
per-address ceiling, without locking a known username out from everywhere."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from conftest import PASSWORD, create_account
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.web.app import create_app


class FakeClock:
    """A millisecond clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


@pytest.fixture
def clock() -> FakeClock:
    """The app's clock."""
    return FakeClock()


@pytest.fixture
async def clocked(
    settings: Settings, redis_client: aioredis.Redis, clock: FakeClock
) -> AsyncIterator[TestServer]:
    """The app on a real HTTP server, running on the fake clock."""
    server = TestServer(create_app(settings, clock=clock))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def clients(clocked: TestServer) -> AsyncIterator[dict[str, TestClient[Any, Any]]]:
    """Two anonymous clients connecting from different addresses (127.0.0.1, 127.0.0.2)."""
    made = {}
    for address in ("127.0.0.1", "127.0.0.2"):
        client = TestClient(clocked, connector=aiohttp.TCPConnector(local_addr=(address, 0)))
        await client.start_server()
        made[address] = client
    yield made
    for client in made.values():
        await client.close()


async def attempt(
    client: TestClient[Any, Any], username: str, password: str
) -> tuple[int, str | None]:
    """Try to sign in; the status and any Retry-After."""
    async with client.post("/api/v1/login", json={"username": username, "password": password}) as r:
        return r.status, r.headers.get("Retry-After")


async def test_parallel_guesses_cannot_race_past_the_limit(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]]
) -> None:
    """40 wrong passwords at once for one account from one address: only the free five are
    checked (401); the other 35 are 429 with Retry-After."""
    user = await create_account(clocked.app, Role.OFFICER)
    client = clients["127.0.0.1"]
    results = await asyncio.gather(
        *(attempt(client, user.username, f"guess-{i}") for i in range(40))
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {401: 5, 429: 35}
    assert all(retry and int(retry) >= 1 for status, retry in results if status == 429)


async def test_delay_doubles_after_the_free_failures(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]], clock: FakeClock
) -> None:
    """After five failures each further attempt waits 1, 2, 4 … seconds after the last."""
    user = await create_account(clocked.app, Role.OFFICER)
    client = clients["127.0.0.1"]
    for _ in range(5):
        assert (await attempt(client, user.username, "wrong"))[0] == 401
    for delay in (1, 2, 4, 8):
        assert await attempt(client, user.username, PASSWORD) == (429, str(delay))
        clock.advance(delay - 0.5)
        assert (await attempt(client, user.username, "wrong"))[0] == 429
        clock.advance(0.5)
        assert (await attempt(client, user.username, "wrong"))[0] == 401


@pytest.mark.settings(login_max_delay_s=3)
async def test_delay_is_capped(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]], clock: FakeClock
) -> None:
    """The delay stops growing at login_max_delay_s; after it a correct password works and
    clears the failures."""
    user = await create_account(clocked.app, Role.OFFICER)
    client = clients["127.0.0.1"]
    for _ in range(10):
        status, retry = await attempt(client, user.username, "wrong")
        if status == 429:
            assert retry is not None and int(retry) <= 3
            clock.advance(int(retry))
    clock.advance(3)
    assert (await attempt(client, user.username, PASSWORD))[0] == 200
    assert (await attempt(client, user.username, "wrong"))[0] == 401


async def test_throttled_address_does_not_lock_the_account_elsewhere(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]]
) -> None:
    """While one address is delayed for an account, the right password from another address
    still signs in."""
    user = await create_account(clocked.app, Role.OFFICER)
    for _ in range(6):
        await attempt(clients["127.0.0.1"], user.username, "wrong")
    assert (await attempt(clients["127.0.0.1"], user.username, PASSWORD))[0] == 429
    assert (await attempt(clients["127.0.0.2"], user.username, PASSWORD))[0] == 200


@pytest.mark.settings(login_address_failures=4)
async def test_address_ceiling_across_accounts(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]]
) -> None:
    """Spraying many usernames from one address stops at login_address_failures (429 for
    the rest of the window); other addresses are unaffected."""
    for i in range(4):
        assert (await attempt(clients["127.0.0.1"], f"nobody-{i}", "wrong"))[0] == 401
    user = await create_account(clocked.app, Role.OFFICER)
    status, retry = await attempt(clients["127.0.0.1"], user.username, PASSWORD)
    assert status == 429 and retry is not None and 0 < int(retry) <= 900
    assert (await attempt(clients["127.0.0.2"], user.username, PASSWORD))[0] == 200


@pytest.mark.settings(login_account_failures=8)
async def test_account_wide_delay_after_many_addresses(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]]
) -> None:
    """Guesses from several addresses add up per account: past login_account_failures every
    address is delayed for that account."""
    user = await create_account(clocked.app, Role.OFFICER)
    for address in ("127.0.0.1", "127.0.0.2"):
        for _ in range(4):
            assert (await attempt(clients[address], user.username, "wrong"))[0] == 401
    assert (await attempt(clients["127.0.0.2"], user.username, PASSWORD))[0] == 429
