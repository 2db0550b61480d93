"""A signed-in client of the service: REST with cookie and CSRF, and the live channel `/ws`.

Used by headless call peers, tests and the simulation/benchmark tools; it speaks only the
public contract (API.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """The service answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


class ServiceClient:
    """One user's session with the service: REST calls and, once opened, the live channel."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # unsafe=True: keep cookies from IP-address hosts such as 127.0.0.1.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.user: dict[str, Any] = {}
        self.csrf = ""
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._signals: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def role(self) -> str:
        """The signed-in user's role (`officer`, `clinician`, …)."""
        return str(self.user["role"])

    async def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Sign in, keeping the session cookie and CSRF token; return the user."""
        body = await self.request(
            "POST", "/api/v1/login", {"username": username, "password": password}
        )
        self.user, self.csrf = body["user"], body["csrf_token"]
        return self.user

    async def call(
        self, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one REST request; return its status and decoded JSON (None if not JSON)."""
        all_headers = {"X-CSRF-Token": self.csrf, **(headers or {})}
        async with self.http.request(
            method, self.base_url + path, json=json_body, headers=all_headers
        ) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def request(self, method: str, path: str, json_body: Any = None) -> Any:
        """Send one REST request and return its JSON; raise ServiceError on a 4xx or 5xx."""
        status, body = await self.call(method, path, json_body)
        if status >= 400:
            raise ServiceError(method, path, status, body)
        return body

    async def open_live(self) -> None:
        """Open `/ws` (cookie-authenticated, same Origin) and start reading it."""
        if self._ws is not None:
            return
        url = self.base_url.replace("http", "ws", 1) + "/ws"
        self._ws = await self.http.ws_connect(url, origin=self.base_url, heartbeat=20)
        self._reader = asyncio.create_task(self._read_live(self._ws), name="live-reader")

    async def send_live(self, message: dict[str, Any]) -> None:
        """Send one JSON message on the live channel."""
        if self._ws is None or self._ws.closed:
            raise ConnectionError("the live channel is not open")
        await self._ws.send_str(json.dumps(message))

    async def send_signal(self, request_id: str, data: dict[str, Any]) -> None:
        """Send call signalling for `request_id` to the other party."""
        await self.send_live({"type": "signal", "request_id": request_id, "data": data})

    def signals(self, request_id: str) -> asyncio.Queue[dict[str, Any]]:
        """The queue of signalling `data` received for `request_id` (created on first use)."""
        return self._signals.setdefault(request_id, asyncio.Queue())

    def forget_signals(self, request_id: str) -> None:
        """Drop the signalling queue of a call that ended."""
        self._signals.pop(request_id, None)

    async def next_event(self, kind: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """The next live message of type `kind`, skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if event.get("type") == kind:
                    return event

    async def close(self) -> None:
        """Close the live channel, then the HTTP session; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        # 1. close the socket, which ends the reader
        if self._ws is not None:
            await self._ws.close()
        # 2. wait for the reader to finish
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader})
        # 3. release the connection pool
        await self.http.close()

    async def _read_live(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            if message.get("type") == "signal":
                self.signals(str(message.get("request_id"))).put_nowait(message["data"])
            else:
                if message.get("type") == "error":
                    log.info("live channel error: %s", message.get("error"))
                self.events.put_nowait(message)
