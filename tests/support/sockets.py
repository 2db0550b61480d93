"""The live channel as tests drive it: a /ws socket that collects its messages, close codes,
and one sign-in used on another instance."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from conftest import (
    ApiClient,
)
from triage_service.web.auth import COOKIE


class Socket:
    """A /ws connection that collects every message it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                async with self.arrived:
                    self.messages.append(json.loads(msg.data))
                    self.arrived.notify_all()

    async def wait_for(
        self, kind: str, timeout: float = 3.0, status: str | None = None, **match: Any
    ) -> dict[str, Any]:
        """The first message of `kind` whose top-level fields equal `match` (and whose
        request has `status`, if given)."""

        def found() -> dict[str, Any] | None:
            for m in self.messages:
                if (
                    m.get("type") == kind
                    and all(m.get(k) == v for k, v in match.items())
                    and (status is None or m.get("request", {}).get("status") == status)
                ):
                    return m
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(found), timeout)
        result = found()
        assert result is not None
        return result

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def connect(api: ApiClient) -> Socket:
    """Open /ws with the client's session cookie and a same-origin Origin header."""
    origin = str(api.client.make_url("/")).rstrip("/")
    ws = await api.client.ws_connect("/ws", headers={"Origin": origin})
    return Socket(ws)


async def open_socket(client: TestClient[Any, Any]) -> aiohttp.ClientWebSocketResponse:
    """Open /ws on `client` with its cookies and a same-origin Origin."""
    origin = str(client.make_url("/")).rstrip("/")
    return await client.ws_connect("/ws", headers={"Origin": origin})


async def close_code(ws: aiohttp.ClientWebSocketResponse, timeout: float = 2.0) -> int | None:
    """Read until the server closes the socket; the code in its close frame (texts are
    skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                msg = await ws.receive()
            except aiohttp.ClientConnectionResetError:  # the reply to the close found the
                return ws.close_code  # transport already closing: the close code stands
            if msg.type is aiohttp.WSMsgType.CLOSE:
                return int(msg.data)
            if msg.type is aiohttp.WSMsgType.CLOSED:
                return ws.close_code


async def same_session_on(server: TestServer, api: ApiClient) -> TestClient[Any, Any]:
    """A client on another instance carrying `api`'s session cookie."""
    client = TestClient(server)
    await client.start_server()
    token = api.client.session.cookie_jar.filter_cookies(api.client.make_url("/"))[COOKIE].value
    client.session.cookie_jar.update_cookies({COOKIE: token}, client.make_url("/"))
    return client


async def signed_in_on(server: TestServer, api: ApiClient) -> ApiClient:
    """`api`'s sign-in used on another instance (the session lives in Redis)."""
    client = TestClient(server)
    await client.start_server()
    token = next(c.value for c in api.client.session.cookie_jar if c.key == COOKIE)
    client.session.cookie_jar.update_cookies({COOKIE: token})
    return ApiClient(client, api.user, api.csrf)
