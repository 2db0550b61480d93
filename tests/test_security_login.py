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
from argon2 import PasswordHasher

from conftest import PASSWORD, PASSWORD_HASH, FakeClock, create_account
from triage_service.domain.codes import Role
from triage_service.service import accounts
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import STORE


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


async def test_delay_is_said_in_words_a_person_reads(
    clocked: TestServer, clients: dict[str, TestClient[Any, Any]], clock: FakeClock
) -> None:
    """The sign-in page shows the server's message: "1 second", then "2 seconds"."""
    user = await create_account(clocked.app, Role.OFFICER)
    client = clients["127.0.0.1"]
    for _ in range(5):
        await attempt(client, user.username, "wrong")
    said = []
    for delay in (1, 2):
        body = {"username": user.username, "password": "wrong"}
        async with client.post("/api/v1/login", json=body) as answer:
            said.append((await answer.json())["error"]["message"])
        clock.advance(delay)
        await attempt(client, user.username, "wrong")
    assert said == [
        "Too many failed sign-ins. Try again in 1 second.",
        "Too many failed sign-ins. Try again in 2 seconds.",
    ]


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


class CountingHasher:
    """The service's password hasher, counting each argon2 verification and its hash."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.verified: list[str] = []

    def verify(self, hashed: str, password: str) -> bool:
        self.verified.append(hashed)
        return self.hasher.verify(hashed, password)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)


async def test_unknown_and_disabled_accounts_cost_one_argon2_verification(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in with an unknown username verifies the password against a dummy argon2 hash,
    and a disabled account's against its own: each path runs one full verification and gets
    the same 401, so neither timing nor answer tells which accounts exist."""
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    user = await create_account(server.app, Role.OFFICER)
    await accounts.set_disabled(server.app[STORE], user.username, True)
    async with TestClient(server) as client:
        for username in ("nobody-here", user.username):
            body = {"username": username, "password": PASSWORD}
            async with client.post("/api/v1/login", json=body) as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "invalid_credentials"
    dummy, own = counting.verified
    assert dummy.startswith("$argon2id$") and dummy != PASSWORD_HASH
    assert own == PASSWORD_HASH
