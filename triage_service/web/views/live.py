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
from triage_service.service import records
from triage_service.service.presence import (
    clinician_connected,
    clinician_disconnected,
    holds_lease,
    new_lease,
)
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


@routes.endpoint("GET", "/ws", summary="Live channel (WebSocket)", signed_in=False)
async def live_channel(request: web.Request) -> web.WebSocketResponse:
    """Authenticate by cookie, check Origin, then serve the socket until it closes."""
    user = require(request[USER], None).user
    check_origin(request)
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=settings.ws_heartbeat_s, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    app, lease = request.app, new_lease()
    app[HUB].add(ws, user, lease=lease if holds_lease(user) else None)
    app[METRICS].websockets.inc()
    try:
        await clinician_connected(app[STORE], settings, user, lease, now_ms=app[CLOCK]())
        await _serve(request, ws, user)
    except STORE_ERRORS as e:
        # The socket is open: answer by closing it (the page reconnects), not with HTTP.
        log.warning("live channel closed: the store failed (%s)", e)
        await ws.close(code=STORE_FAILED, message=b"store unavailable; reconnect")
    finally:
        app[HUB].discard(ws)
        app[METRICS].websockets.dec()
        # Shielded: the handler is cancelled when the connection drops, and the lease must
        # still be dropped (if Redis cannot be reached, the lease lapses by itself).
        await asyncio.shield(_drop_lease(request, user, lease))
    return ws


async def _drop_lease(request: web.Request, user: User, lease: str) -> None:
    app = request.app
    try:
        await clinician_disconnected(app[STORE], app[SETTINGS], user, lease, now_ms=app[CLOCK]())
    except STORE_ERRORS as e:
        log.warning("could not drop a presence lease (it will lapse): %s", e)


async def _serve(request: web.Request, ws: web.WebSocketResponse, user: User) -> None:
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
            message = json.loads(msg.data)
        except json.JSONDecodeError:
            await _error(ws, "bad_message", "Messages must be JSON objects.")
            continue
        await _handle(request, ws, user, message)


async def _handle(
    request: web.Request, ws: web.WebSocketResponse, user: User, message: Any
) -> None:
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        await ws.send_json({"type": "pong"})
    elif kind == "signal":
        await _relay_signal(request, ws, user, message)
    else:
        await _error(ws, "bad_message", "Unknown message type.")


async def _relay_signal(
    request: web.Request, ws: web.WebSocketResponse, user: User, message: dict[str, Any]
) -> None:
    """Relay only between the owner officer and the assigned clinician while in session."""
    request_id = message.get("request_id")
    record = (
        await records.load(request.app[STORE], request_id)
        if isinstance(request_id, str) and len(request_id) <= 64
        else None
    )
    if record is None or record["status"] != RequestStatus.IN_SESSION or "data" not in message:
        await _error(ws, "signal_refused", "No call in session for this request.")
        return
    parties = {record["officer_id"]: "officer", record["clinician_id"]: "clinician"}
    if user.id not in parties:
        await _error(ws, "signal_refused", "You are not in this call.")
        return
    to = record["clinician_id"] if parties[user.id] == "officer" else record["officer_id"]
    await request.app[STORE].publish(
        SignalWake(to=to, request_id=record["id"], from_role=parties[user.id], data=message["data"])
    )


async def _error(ws: web.WebSocketResponse, code: str, text: str) -> None:
    await ws.send_json({"type": "error", "error": {"code": code, "message": text}})
