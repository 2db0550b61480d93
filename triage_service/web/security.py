"""Security headers on every response, and the Origin check on every change."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from triage_service.settings import Settings
from triage_service.web.errors import ApiError, Handler
from triage_service.web.state import SETTINGS

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; font-src 'self'; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


def security_headers(settings: Settings) -> Middleware:
    """A middleware adding CSP, framing, sniffing, referrer and permission headers."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(self)",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.tls:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"

    @web.middleware
    async def add_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            response.headers.update(headers)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return add_headers


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
