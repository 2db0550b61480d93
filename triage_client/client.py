"""The one client of the service: REST with cookie and CSRF, and the live channel `/ws`.

Used by the tests, the headless call peers, the shift simulation and the benchmark; it speaks
only the public contract (API.md). It runs over its own `aiohttp.ClientSession` on a base
URL, over a pool shared by many sessions (the session cookie then travels in a header), or
over aiohttp's `TestClient`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
from typing import TYPE_CHECKING, Any, TypeAlias

import aiohttp

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.web.auth import COOKIE

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient

    Transport: TypeAlias = aiohttp.ClientSession | TestClient[Any, Any]

log = logging.getLogger(__name__)

ANONYMOUS = User(id="", username="", display_name="", role=Role.OFFICER)


class ServiceError(Exception):
    """The service answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


class ServiceClient:
    """One user's session with the service: REST calls and, once opened, the live channel.

    `ServiceClient(base_url)` owns its HTTP session. `http=` brings one that takes paths:
    a `ClientSession` made with `base_url=`, or a `TestClient`; `close()` leaves it open
    unless `owns_http=True`. With `token=` ("" before signing in) the session cookie travels
    in a header, for a pool shared without a cookie jar. `base_url` is the Origin on `/ws`.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        http: Transport | None = None,
        owns_http: bool = False,
        user: User = ANONYMOUS,
        csrf: str = "",
        token: str | None = None,
    ) -> None:
        if http is None:
            # unsafe=True: keep cookies from IP-address hosts such as 127.0.0.1.
            http = aiohttp.ClientSession(
                base_url=base_url.rstrip("/"), cookie_jar=aiohttp.CookieJar(unsafe=True)
            )
            owns_http = True
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.owns_http = owns_http
        self.user, self.csrf, self.token = user, csrf, token
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._signals: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def role(self) -> str:
        """The signed-in user's role (`officer`, `clinician`, …)."""
        return self.user.role.value

    async def sign_in(self, username: str, password: str) -> User:
        """Sign in, keeping the session cookie and CSRF token; return the user."""
        path, form = "/api/v1/login", {"username": username, "password": password}
        async with self.http.request("POST", path, json=form, headers=self._headers(None)) as r:
            status, body, cookie = r.status, await _json(r), r.cookies.get(COOKIE)
        if status >= 400:
            raise ServiceError("POST", path, status, body)
        if self.token is not None and cookie is not None:
            self.token = cookie.value
        found = body["user"]
        self.user = User(found["id"], found["username"], found["display_name"], Role(found["role"]))
        self.csrf = body["csrf_token"]
        return self.user

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        cookie = {"Cookie": f"{COOKIE}={self.token}"} if self.token else {}
        return {**cookie, "X-CSRF-Token": self.csrf, **(extra or {})}

    async def call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one REST request; return its status and decoded JSON (None if not JSON)."""
        async with self.http.request(
            method, path, json=json, headers=self._headers(headers)
        ) as response:
            return response.status, await _json(response)

    async def get(self, path: str) -> tuple[int, Any]:
        """GET `path`; return its status and decoded JSON."""
        return await self.call("GET", path)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        """POST `json` (an empty object if None) to `path`; return its status and JSON."""
        return await self.call("POST", path, json if json is not None else {}, **kw)

    async def request(self, method: str, path: str, json: Any = None) -> Any:
        """Send one REST request and return its JSON; raise ServiceError on a 4xx or 5xx."""
        status, body = await self.call(method, path, json)
        if status >= 400:
            raise ServiceError(method, path, status, body)
        return body

    async def connect_ws(self, **options: Any) -> aiohttp.ClientWebSocketResponse:
        """A new `/ws` connection on this session (same Origin); `options` go to aiohttp."""
        cookie = {"Cookie": f"{COOKIE}={self.token}"} if self.token else {}
        ws: aiohttp.ClientWebSocketResponse = await self.http.ws_connect(
            "/ws", origin=self.base_url, headers=cookie, **options
        )
        return ws

    async def open_live(self) -> None:
        """Open `/ws` (cookie-authenticated, same Origin) and start reading it."""
        if self._ws is not None:
            return
        self._ws = await self.connect_ws(heartbeat=20)
        self._reader = asyncio.create_task(self._read_live(self._ws), name="live-reader")

    async def send_live(self, message: dict[str, Any]) -> None:
        """Send one JSON message on the live channel."""
        if self._ws is None or self._ws.closed:
            raise ConnectionError("the live channel is not open")
        await self._ws.send_str(jsonlib.dumps(message))

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
        """Close the live channel, then the HTTP session if it is ours; safe to call twice."""
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
        if self.owns_http:
            await self.http.close()

    async def _read_live(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            message = jsonlib.loads(msg.data)
            if message.get("type") == "signal":
                self.signals(str(message.get("request_id"))).put_nowait(message["data"])
            else:
                if message.get("type") == "error":
                    log.info("live channel error: %s", message.get("error"))
                self.events.put_nowait(message)


async def _json(response: aiohttp.ClientResponse) -> Any:
    """The decoded JSON body, or None if the answer is not JSON."""
    return await response.json() if response.content_type == "application/json" else None
