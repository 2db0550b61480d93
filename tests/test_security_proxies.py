"""Sign-in throttling behind a real reverse proxy: the caller's address comes from
X-Forwarded-For only through trusted proxies (read right to left), so one place's failures
never lock out everyone behind the proxy, and a known username under attack still lets in the
right password from an address that has not failed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import PASSWORD, create_account
from reverse_proxy import CADDY, aiohttp_proxy, caddy
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.settings_values import parse_networks
from triage_service.web.app import create_app
from triage_service.web.proxies import client_address

TRUSTED = "127.0.0.1/32"


@pytest.fixture(params=["caddy", "aiohttp"])
async def proxied(
    request: pytest.FixtureRequest, settings: Settings, redis_client: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[tuple[TestServer, str]]:
    """The service on 127.0.0.1 with a reverse proxy (Caddy, or a small aiohttp one) in
    front of it; yields the service and the proxy's base URL."""
    if request.param == "caddy" and CADDY is None:
        pytest.skip("caddy is not installed (scripts/test installs Debian's)")
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    upstream = f"127.0.0.1:{server.port}"
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "caddy":
            base = stack.enter_context(caddy(upstream, tmp_path))
        else:
            base = await stack.enter_async_context(aiohttp_proxy(upstream))
        yield server, base
    await server.close()


async def sign_in_from(
    base: str, address: str, username: str, password: str, *, forwarded: str | None = None
) -> int:
    """POST /api/v1/login through the proxy from the local `address`; the status."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(
            f"{base}/api/v1/login",
            json={"username": username, "password": password},
            headers=headers,
        ) as r,
    ):
        return r.status


@pytest.mark.settings(trusted_proxies=TRUSTED, login_address_failures=4)
async def test_one_places_failures_behind_the_proxy_do_not_lock_out_another(
    proxied: tuple[TestServer, str],
) -> None:
    """Behind a trusted proxy, spraying sign-ins from one address hits that address's ceiling
    (429) while another address behind the same proxy signs in with the right password."""
    server, base = proxied
    user = await create_account(server.app, Role.OFFICER)
    for i in range(4):
        assert await sign_in_from(base, "127.0.0.2", f"nobody-{i}", "wrong") == 401
    assert await sign_in_from(base, "127.0.0.2", user.username, PASSWORD) == 429
    assert await sign_in_from(base, "127.0.0.3", user.username, PASSWORD) == 200


@pytest.mark.settings(trusted_proxies=TRUSTED, login_address_failures=4)
async def test_a_forged_forwarded_for_does_not_escape_the_limit(
    proxied: tuple[TestServer, str],
) -> None:
    """A client that writes a fresh X-Forwarded-For on every attempt is still counted by the
    address the proxy saw: the entries it wrote itself are never believed."""
    _, base = proxied
    for i in range(4):
        forged = f"203.0.113.{i + 1}"
        assert await sign_in_from(base, "127.0.0.4", f"x-{i}", "wrong", forwarded=forged) == 401
    forged = "198.51.100.7, 127.0.0.1"  # even one that names a trusted proxy
    assert await sign_in_from(base, "127.0.0.4", "x-9", "wrong", forwarded=forged) == 429


@pytest.mark.settings(trusted_proxies=TRUSTED, login_account_failures=6, login_max_failures=3)
async def test_an_account_under_attack_still_lets_in_the_right_password(
    proxied: tuple[TestServer, str],
) -> None:
    """Past the account-wide limit, addresses that failed on the account wait (429), even with
    the right password; an address that has not failed signs in at once, and an address that
    fails for the first time gets its delay only from then on."""
    server, base = proxied
    user = await create_account(server.app, Role.OFFICER)
    for address in ("127.0.0.5", "127.0.0.6"):
        for _ in range(3):
            assert await sign_in_from(base, address, user.username, "wrong") == 401
    assert await sign_in_from(base, "127.0.0.5", user.username, PASSWORD) == 429
    assert await sign_in_from(base, "127.0.0.7", user.username, PASSWORD) == 200
    assert await sign_in_from(base, "127.0.0.8", user.username, "wrong") == 401
    assert await sign_in_from(base, "127.0.0.8", user.username, PASSWORD) == 429


@pytest.mark.settings(login_address_failures=3)
async def test_forwarded_for_is_ignored_without_trusted_proxies(
    server: TestServer, redis_client: aioredis.Redis
) -> None:
    """With no trusted proxies configured, X-Forwarded-For changes nothing: a client cannot
    pick the address it is counted under."""
    base = str(server.make_url("")).rstrip("/")
    for i in range(3):
        forged = f"203.0.113.{i + 1}"
        assert await sign_in_from(base, "127.0.0.9", f"y-{i}", "wrong", forwarded=forged) == 401
    assert await sign_in_from(base, "127.0.0.9", "y-9", "wrong", forwarded="192.0.2.1") == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.10", ["203.0.113.5"], "192.0.2.10"),  # peer not trusted: header ignored
        ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
        ("10.0.0.2", ["198.51.100.1, 203.0.113.5"], "203.0.113.5"),  # right-most untrusted
        ("10.0.0.2", ["198.51.100.1, 203.0.113.5, 10.0.0.3"], "203.0.113.5"),  # two proxies
        ("10.0.0.2", ["198.51.100.1", "203.0.113.5"], "203.0.113.5"),  # repeated header
        ("10.0.0.2", ["junk, 203.0.113.5"], "203.0.113.5"),
        ("10.0.0.2", ["203.0.113.5, junk"], "10.0.0.2"),  # a proxy wrote junk: stop there
        ("10.0.0.2", ["10.0.0.7"], "10.0.0.7"),  # every hop trusted: the left-most
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["[2001:db8::1]"], "2001:db8::1"),
    ],
)
def test_client_address_reads_forwarded_for_right_to_left(
    peer: str, forwarded: list[str], expected: str
) -> None:
    """Only hops added by trusted proxies are skipped; the first other address is the client."""
    trusted = parse_networks("10.0.0.0/8")
    assert client_address(peer, forwarded, trusted) == expected


def test_trusted_proxies_must_be_networks() -> None:
    """A malformed or host-bits-set CIDR stops start-up naming the setting."""
    from triage_service.settings import SettingsError

    for bad in ("10.0.0.1/8", "not-an-address", "10.0.0.0/33"):
        with pytest.raises(SettingsError, match="trusted_proxies"):
            Settings(trusted_proxies=bad)
    assert len(Settings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxy_networks) == 2
