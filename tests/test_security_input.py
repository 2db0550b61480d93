"""Hostile input is answered 400, 413 or 422, never 500."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from aiohttp.test_utils import TestServer

from conftest import REQUEST_FORM, ApiClient, SignInFactory


async def raw_post(
    client: ApiClient, path: str, data: bytes, headers: dict[str, str] | None = None
) -> int:
    """POST `data` unchanged with the client's CSRF token; the status."""
    all_headers = {
        "X-CSRF-Token": client.csrf,
        "Content-Type": "application/json",
        **(headers or {}),
    }
    async with client.client.post(path, data=data, headers=all_headers) as r:
        await r.read()
        return r.status


DEEP = b"[" * 20_000 + b"]" * 20_000


async def test_deeply_nested_json_on_login_is_400(anonymous: ApiClient) -> None:
    """JSON nested 20,000 deep on the anonymous sign-in is a 400, not a crash."""
    assert await raw_post(anonymous, "/api/v1/login", DEEP) == 400
    deep_object = b'{"username":' + DEEP + b"}"
    assert await raw_post(anonymous, "/api/v1/login", deep_object) == 400


async def test_deeply_nested_json_signed_in_is_400(sign_in: SignInFactory) -> None:
    """The same nesting inside a request form is a 400."""
    officer = await sign_in("officer")
    body = json.dumps(REQUEST_FORM)[:-1].encode() + b', "notes": ' + DEEP + b"}"
    assert await raw_post(officer, "/api/v1/requests", body) == 400


async def test_huge_integer_is_400_or_422(sign_in: SignInFactory, anonymous: ApiClient) -> None:
    """A 5,000-digit integer (over Python's int parsing limit) is refused, not a 500."""
    officer = await sign_in("officer")
    big = b"9" * 5000
    body = json.dumps(REQUEST_FORM)[:-1].encode() + b', "priority": ' + big + b"}"
    assert await raw_post(officer, "/api/v1/requests", body) in (400, 422)
    login = b'{"username": "x", "password": ' + big + b"}"
    assert await raw_post(anonymous, "/api/v1/login", login) in (400, 422)


async def test_non_ascii_idempotency_key_is_422(sign_in: SignInFactory) -> None:
    """An Idempotency-Key with non-ASCII bytes is refused with 422 naming the header."""
    officer = await sign_in("officer")
    body = json.dumps(REQUEST_FORM).encode()
    headers = {"Idempotency-Key": "cl\xe9-\xff"}
    async with officer.client.post(
        "/api/v1/requests",
        data=body,
        headers={"X-CSRF-Token": officer.csrf, "Content-Type": "application/json", **headers},
    ) as r:
        assert r.status in (400, 422), await r.text()


async def test_bad_gzip_body_is_400(sign_in: SignInFactory, anonymous: ApiClient) -> None:
    """`Content-Encoding: gzip` over a body that is not gzip is a 400, signed in or not."""
    officer = await sign_in("officer")
    headers = {"Content-Encoding": "gzip"}
    assert await raw_post(officer, "/api/v1/requests", b"not gzip at all", headers) == 400
    assert await raw_post(anonymous, "/api/v1/login", b"not gzip at all", headers) == 400
    good = gzip.compress(json.dumps({"username": "x", "password": "y"}).encode())
    assert await raw_post(anonymous, "/api/v1/login", good, headers) == 401


@pytest.mark.parametrize("path", ["/", "/officer", "/api/v1/me", "/healthz", "/static/js/api.js"])
async def test_cookie_with_byte_ff_is_not_500(server: TestServer, path: str) -> None:
    """A Cookie header holding byte 0xff never makes a 500, on pages, the API or files."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n".encode()
        + b"Cookie: triage_session=\xff\xfe; other=\xff\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    status = int(status_line.split()[1])
    assert status < 500, status_line
