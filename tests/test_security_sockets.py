"""Live sockets never outlive their sign-in session: sign-out, expiry or a disabled account
closes them with 4401 on every instance."""

from __future__ import annotations

import logging

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import SignInFactory, log_in
from support.sockets import close_code, open_socket, same_session_on


async def test_logout_closes_the_sessions_sockets_on_every_instance(
    sign_in: SignInFactory, second_server: TestServer
) -> None:
    """After sign-out the session's sockets here and on a second instance are closed with
    4401 within 2 s; another session of the same user keeps its socket."""
    officer = await sign_in("officer")
    elsewhere = await same_session_on(second_server, officer)
    here, there = await open_socket(officer.client), await open_socket(elsewhere)
    status, _ = await officer.post("/api/v1/logout")
    assert status == 204
    assert await close_code(here) == 4401
    assert await close_code(there) == 4401
    await elsewhere.close()


async def test_expired_session_socket_answers_ping_with_4401(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Once the session has expired (its key gone), a ping is answered by closing with 4401,
    not by a pong."""
    officer = await sign_in("officer")
    ws = await open_socket(officer.client)
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=2))["type"] == "pong"
    [key] = await redis_client.keys(f"{key_prefix}sess:*")
    await redis_client.delete(key)
    await ws.send_json({"type": "ping"})
    assert await close_code(ws) == 4401


@pytest.mark.settings(ws_session_check_s=0.2)
async def test_idle_socket_is_closed_when_its_session_expires(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A socket that sends nothing still re-checks its session and closes with 4401 once it
    has expired."""
    officer = await sign_in("officer")
    ws = await open_socket(officer.client)
    [key] = await redis_client.keys(f"{key_prefix}sess:*")
    await redis_client.delete(key)
    assert await close_code(ws, timeout=2) == 4401


async def test_other_sessions_of_the_user_stay_open(
    sign_in: SignInFactory, server: TestServer
) -> None:
    """Signing out one session leaves the user's other sessions and their sockets alone."""
    officer = await sign_in("officer")
    other = await log_in(server, officer.user)
    ws_other = await open_socket(other.client)
    ws_mine = await open_socket(officer.client)
    await officer.post("/api/v1/logout")
    assert await close_code(ws_mine) == 4401
    await ws_other.send_json({"type": "ping"})
    assert (await ws_other.receive_json(timeout=2))["type"] == "pong"
    await other.client.close()


async def test_invalid_utf8_and_deep_json_get_an_error_and_the_socket_stays(
    sign_in: SignInFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A text frame of invalid UTF-8, or JSON nested 20,000 deep, is answered with an
    `error` message; the socket stays open and nothing is logged as an error."""
    officer = await sign_in("officer")
    ws = await open_socket(officer.client)
    for frame in (b"\xff\xfe{", b"[" * 20_000 + b"]" * 20_000, b'{"n": ' + b"9" * 5000 + b"}"):
        await ws.send_frame(frame, aiohttp.WSMsgType.TEXT)
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "error" and reply["error"]["code"] == "bad_message"
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=2))["type"] == "pong"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_oversized_frame_closes_with_1009_without_a_traceback(
    sign_in: SignInFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A frame over the size limit closes the socket with 1009 (message too big), logging no
    error."""
    officer = await sign_in("officer")
    ws = await open_socket(officer.client)
    await ws.send_str('{"type": "ping", "pad": "' + "x" * 200_000 + '"}')
    assert await close_code(ws) == 1009
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
