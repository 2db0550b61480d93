"""`GET /guest/live`: a guest page's live channel (its cookie, this service's Origin): call
signalling to the others in the call, pushes of the chat and of who is in the call."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from triage_service.live.hub import SESSION_ENDED
from triage_service.service import guests
from triage_service.service.participants import relay_signal
from triage_service.web.api import ApiRoutes
from triage_service.web.state import CLOCK, HUB, SETTINGS, STORE
from triage_service.web.views.guests import guest_cookie, page_guest
from triage_service.web.views.live import MAX_MESSAGE_BYTES, RateLimit, check_origin

routes = ApiRoutes()
SIGNAL_RATE, SIGNAL_BURST = 50.0, 100.0


@routes.endpoint(
    "GET",
    "/guest/live",
    summary="A guest page's live channel (WebSocket)",
    signed_in=False,
    status=101,
    errors={401: "Not a guest page in a running call", 403: "Origin is not this service"},
)
async def guest_channel(request: web.Request) -> web.WebSocketResponse:
    """Serve a guest page's socket while the guest is in the call; closed (4401) once they are
    not (left, revoked, expired, the session ended)."""
    guest, _ = await page_guest(request)
    check_origin(request)
    ws = web.WebSocketResponse(
        heartbeat=request.app[SETTINGS].ws_heartbeat_s, max_msg_size=MAX_MESSAGE_BYTES
    )
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.add_guest(ws, guest.id)
    try:
        await _serve(request, ws, guest.id)
    finally:
        hub.discard_guest(ws, guest.id)
    return ws


async def _serve(request: web.Request, ws: web.WebSocketResponse, guest_id: str) -> None:
    limit = RateLimit(SIGNAL_RATE, SIGNAL_BURST)
    async for msg in ws:
        if msg.type is not WSMsgType.TEXT or not limit.allow():
            await _error(ws, "bad_message", "Send JSON text messages, not too fast.")
            continue
        try:
            message = json.loads(msg.data)
        except (ValueError, RecursionError):
            await _error(ws, "bad_message", "Messages must be JSON objects.")
            continue
        if not await _handle(request, ws, guest_id, message):
            await ws.close(code=SESSION_ENDED, message=b"no longer in the call")
            return


async def _handle(
    request: web.Request, ws: web.WebSocketResponse, guest_id: str, message: Any
) -> bool:
    """Answer one message; False once the guest is no longer in the call."""
    cookie = request.cookies.get(guest_cookie(request), "")
    found = await guests.guest_of_page(request.app[STORE], cookie, now_ms=request.app[CLOCK]())
    if found is None or found[0].id != guest_id:
        return False
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        await ws.send_json({"type": "pong"})
    elif kind == "signal" and isinstance(message, dict) and "data" in message:
        store, record = request.app[STORE], found[0].record
        refused = await relay_signal(store, record, guest_id, message.get("to"), message["data"])
        if refused:
            await _error(ws, "signal_refused", refused)
    else:
        await _error(ws, "bad_message", "Unknown message type.")
    return True


async def _error(ws: web.WebSocketResponse, code: str, text: str) -> None:
    await ws.send_json({"type": "error", "error": {"code": code, "message": text}})
