"""Dynamic answers on the wire: HTML and JSON of 1 KB or more gzip-encoded for a client that
accepts gzip, small ones and credential-bearing ones never."""

from __future__ import annotations

import gzip
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from conftest import SignInFactory
from triage_service.web.compression import MIN_BYTES, accepts_gzip, compressible

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


async def fetch(
    http: aiohttp.ClientSession | TestClient[Any, Any], path: str, encoding: str
) -> tuple[aiohttp.ClientResponse, bytes]:
    """GET `path` asking for `encoding`; the answer and its bytes as they came."""
    async with http.get(path, headers={"Accept-Encoding": encoding}, auto_decompress=False) as r:
        return r, await r.read()


async def test_large_html_and_json_are_gzipped_small_ones_not(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """The supervisor's page and the day's statistics (both over 1 KB) come gzip-encoded,
    varying by Accept-Encoding, and decode to the page and the JSON; `/healthz` (a few bytes)
    and a client that asks for identity, or refuses gzip with q=0, get them plain."""
    supervisor = (await sign_in("supervisor")).client
    for path, marker in (("/supervisor", b"Service now"), ("/api/v1/stats?window=24h", b"queue")):
        response, body = await fetch(supervisor, path, GZIP["Accept-Encoding"])
        assert response.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in response.headers["Vary"]
        plain = gzip.decompress(body)
        assert len(plain) >= MIN_BYTES and marker in plain
        assert int(response.headers["Content-Length"]) == len(body) < len(plain)
        for refusing in ("identity", "gzip;q=0, *;q=1"):
            response, body = await fetch(supervisor, path, refusing)
            assert "Content-Encoding" not in response.headers and marker in body
    async with aiohttp.ClientSession() as http:
        response, body = await fetch(http, str(server.make_url("/healthz")), "gzip")
        assert len(body) < MIN_BYTES and "Content-Encoding" not in response.headers
        assert json.loads(body)["status"] == "ok"


async def test_answers_carrying_credentials_are_never_compressed(
    sign_in: SignInFactory,
) -> None:
    """`/api/v1/me` (the CSRF token) goes plain even to a client asking for gzip, and the
    rule holds by path whatever the size: a 2 KB answer there would still go plain, while
    the same under `/api/v1/stats` would be compressed."""
    officer = (await sign_in("officer")).client
    response, body = await fetch(officer, "/api/v1/me", "gzip")
    assert "Content-Encoding" not in response.headers and json.loads(body)["csrf_token"]
    big = web.json_response({"padding": "x" * 2 * MIN_BYTES})
    for path in ("/api/v1/me", "/api/v1/login", "/api/v1/mfa/totp", "/api/v1/ice-servers"):
        assert not compressible(make_mocked_request("GET", path), big), path
    assert compressible(make_mocked_request("GET", "/api/v1/stats"), big)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("*", True),
        ("br", False),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("GZIP;Q=1", True),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_honoured(header: str, accepted: bool) -> None:
    """gzip by name or by `*` with a quality above 0; a named q=0 refuses it."""
    assert accepts_gzip(header) is accepted
