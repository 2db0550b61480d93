"""`GET /ws`: the cookie-authenticated live channel (events, chat pushes, call signalling)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from triage_service.domain.codes import RequestStatus
from triage_service.domain.users import User
from triage_service.live.hub import SESSION_ENDED, TOO_MANY_SOCKETS
from triage_service.service import records
from triage_service.service.participants import relay_signal
from triage_service.service.presence import (
    clinician_connected,
    clinician_disconnected,
    holds_lease,
    new_lease,
    presence_changed,
)
from triage_service.service.sessions import SignIn, keep_session_alive
from triage_service.store import STORE_ERRORS
from triage_service.store.wakes import SignalWake
from triage_service.web.api import ApiRoutes
from triage_service.web.auth import USER, require
from triage_service.web.errors import ApiError
from triage_service.web.metrics import METRICS
from triage_service.web.state import CLOCK, HUB, SETTINGS, STORE

log = logging.getLogger(__name__)
routes = ApiRoutes()
MAX_MESSAGE_BYTES = 64 * 1024
STORE_FAILED = 1011  # WebSocket close code: the server met an unexpected condition
SIGNAL_RATE = 50.0  # messages per second, sustained
SIGNAL_BURST = 100.0


class RateLimit:
    """A token bucket: `allow()` is False once the sender goes over rate and burst."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def check_origin(request: web.Request) -> None:
    """A browser's `Origin` must be this service (settings.public_origin or the Host)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return  # not a browser: cookies cannot be ridden cross-site without one
    expected = request.app[SETTINGS].public_origin
    if expected and origin == expected:
        return
    if urlsplit(origin).netloc != request.host:
        raise ApiError(403, "bad_origin", "WebSocket Origin does not match this service.")


@routes.endpoint(
    "GET",
    "/ws",
    summary="Live channel (WebSocket)",
    signed_in=False,
    status=101,
    errors={
        400: "Not a WebSocket upgrade",
        401: "Not signed in",
        403: "Origin is not this service",
    },
)
async def live_channel(request: web.Request) -> web.WebSocketResponse:
    """Authenticate by cookie, check Origin, then serve the socket until it closes."""
    sign_in = require(request[USER], None)
    user = sign_in.user
    check_origin(request)
    settings = request.app[SETTINGS]
    # Text arrives undecoded: invalid UTF-8 is answered with an error, not a closed socket.
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat_s, max_msg_size=MAX_MESSAGE_BYTES, decode_text=False
    )
    await ws.prepare(request)
    app, lease = request.app, new_lease()
    if app[HUB].sockets_of(user.id) >= settings.ws_max_per_user:
        await ws.close(code=TOO_MANY_SOCKETS, message=b"too many live sockets open")
        return ws
    app[HUB].add(ws, user, sign_in.token, lease=lease if holds_lease(user) else None)
    app[METRICS].websockets.inc()
    watcher = asyncio.create_task(_keep_session(request, ws, sign_in))
    try:
        await clinician_connected(app[STORE], settings, user, lease, now_ms=app[CLOCK]())
        await presence_changed(app[STORE], user)
        await _serve(request, ws, sign_in)
    except STORE_ERRORS as e:
        # The socket is open: answer by closing it (the page reconnects), not with HTTP.
        log.warning("live channel closed: the store failed (%s)", e)
        await ws.close(code=STORE_FAILED, message=b"store unavailable; reconnect")
    finally:
        watcher.cancel()
        app[HUB].discard(ws)
        app[METRICS].websockets.dec()
        # Shielded: the handler is cancelled when the connection drops, and the lease must
        # still be dropped (if Redis cannot be reached, the lease lapses by itself).
        await asyncio.shield(_drop_lease(request, user, lease))
    return ws


async def _drop_lease(request: web.Request, user: User, lease: str) -> None:
    app = request.app
    try:
        async with app[HUB].lease_turns:  # after a renewal that may still hold this lease
            await clinician_disconnected(
                app[STORE], app[SETTINGS], user, lease, now_ms=app[CLOCK]()
            )
        await presence_changed(app[STORE], user)
    except STORE_ERRORS as e:
        log.warning("could not drop a presence lease (it will lapse): %s", e)


async def _keep_session(request: web.Request, ws: web.WebSocketResponse, sign_in: SignIn) -> None:
    """While the socket is open, keep its sign-in from lapsing for idleness (the absolute
    lifetime still applies), and close the socket with 4401 once the session is gone
    (signed out, account disabled, too old); a wake-up usually closes it sooner."""
    every = request.app[SETTINGS].ws_session_check_s
    while not ws.closed:
        await asyncio.sleep(every)
        await _close_if_ended(request, ws, sign_in)


async def _close_if_ended(request: web.Request, ws: web.WebSocketResponse, sign_in: SignIn) -> bool:
    """Refresh the session; if it is over, close the socket with 4401. Whether it was."""
    app = request.app
    if await keep_session_alive(app[STORE], app[SETTINGS], sign_in.token, app[CLOCK]()):
        return False
    await ws.close(code=SESSION_ENDED, message=b"session ended")
    return True


async def _serve(request: web.Request, ws: web.WebSocketResponse, sign_in: SignIn) -> None:
    limit = RateLimit(SIGNAL_RATE, SIGNAL_BURST)
    async for msg in ws:
        if msg.type is not WSMsgType.TEXT:
            if msg.type is WSMsgType.BINARY:
                await _error(ws, "bad_message", "Send JSON text messages.")
            continue
        if not limit.allow():
            await _error(ws, "rate_limited", "Too many messages; slow down.")
            continue
        try:
            message = json.loads(bytes(msg.data).decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8 or JSON, too deep, too many digits
            await _error(ws, "bad_message", "Messages must be JSON objects.")
            continue
        await _handle(request, ws, sign_in, message)


async def _handle(
    request: web.Request, ws: web.WebSocketResponse, sign_in: SignIn, message: Any
) -> None:
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        if not await _close_if_ended(request, ws, sign_in):
            await ws.send_json({"type": "pong"})
    elif kind == "signal":
        await _relay_signal(request, ws, sign_in.user, message)
    else:
        await _error(ws, "bad_message", "Unknown message type.")


async def _relay_signal(
    request: web.Request, ws: web.WebSocketResponse, user: User, message: dict[str, Any]
) -> None:
    """Relay only between the owner officer and the assigned clinician while in session;
    a signal addressed `to` a participant goes between any two people in the call."""
    request_id = message.get("request_id")
    record = (
        await records.load(request.app[STORE], request_id)
        if isinstance(request_id, str) and len(request_id) <= 64
        else None
    )
    clinician = record.clinician_id if record else None
    if record is None or record.status is not RequestStatus.IN_SESSION or clinician is None:
        await _error(ws, "signal_refused", "No call in session for this request.")
        return
    if "data" not in message:
        await _error(ws, "signal_refused", "No call in session for this request.")
        return
    if "to" in message:  # a call of more than two: one participant to another
        store = request.app[STORE]
        refused = await relay_signal(store, record, user.id, message["to"], message["data"])
        if refused:
            await _error(ws, "signal_refused", refused)
        return
    parties = {record.officer_id: "officer", clinician: "clinician"}
    if user.id not in parties:
        await _error(ws, "signal_refused", "You are not in this call.")
        return
    to = clinician if parties[user.id] == "officer" else record.officer_id
    await request.app[STORE].publish(
        SignalWake(to=to, request_id=record.id, from_role=parties[user.id], data=message["data"])
    )


async def _error(ws: web.WebSocketResponse, code: str, text: str) -> None:
    await ws.send_json({"type": "error", "error": {"code": code, "message": text}})
