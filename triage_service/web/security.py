"""Security headers on every response, and the Origin check on every change."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from aiohttp import web

from triage_service.settings import Settings
from triage_service.web.errors import ApiError, Handler
from triage_service.web.state import SETTINGS

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'{ws}; font-src 'self'; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
SERVER = "triage-service"  # in place of aiohttp's "Python/3.x aiohttp/3.y"
HOST_SHAPE = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def fixed_headers(settings: Settings) -> dict[str, str]:
    """The headers every answer carries whatever it is (parser errors included)."""
    fixed = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(self)",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Server": SERVER,
    }
    if settings.tls:
        fixed["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return fixed


def security_headers(app: web.Application, settings: Settings) -> None:
    """Add CSP, framing, sniffing, referrer, permission and caching headers to every
    response as it is sent: answers, errors, redirects and files alike."""
    fixed = fixed_headers(settings)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(fixed)
        response.headers["Content-Security-Policy"] = content_security_policy(
            settings, request.transport
        )
        # API answers and pages (they embed the CSRF token) are never stored by caches.
        if request.path.startswith("/api/") or response.content_type == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")

    app.on_response_prepare.append(add_headers)


def content_security_policy(settings: Settings, transport: asyncio.BaseTransport | None) -> str:
    """The CSP, whose socket source is this service's own: never taken from the request."""
    return CSP.format(ws=_socket_source(settings, transport))


def _socket_source(settings: Settings, transport: asyncio.BaseTransport | None) -> str:
    """` ws(s)://origin` for connect-src: the public origin when set, else the address this
    connection reached (the socket's own, not the client's Host header)."""
    if settings.public_origin:
        origin = urlsplit(settings.public_origin)
        scheme, host = ("wss" if origin.scheme == "https" else "ws"), origin.netloc
    else:
        scheme, host = ("wss" if settings.tls else "ws"), _bound_address(transport)
    return f" {scheme}://{host}" if HOST_SHAPE.fullmatch(host) else ""


def _bound_address(transport: asyncio.BaseTransport | None) -> str:
    """`host:port` of the local end of the connection (IPv6 in brackets); '' if unknown."""
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return ""
    host, port = str(sockname[0]), int(sockname[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def same_origin(request: web.Request) -> bool:
    """Whether the request's `Origin` (if any) is this service: public_origin or the Host."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: cookies cannot be ridden cross-site without one
    expected = request.app[SETTINGS].public_origin
    if expected and origin == expected:
        return True
    try:
        return urlsplit(origin).netloc == request.host
    except ValueError:
        return False


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a change (any non-GET, sign-in included) sent from another site's page."""
    if request.method not in SAFE_METHODS and not same_origin(request):
        raise ApiError(403, "bad_origin", "The request's Origin is not this service.")
    return await handler(request)
