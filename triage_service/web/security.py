"""Security headers on every response."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from triage_service.settings import Settings
from triage_service.web.errors import Handler

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
        html = response.headers.get("Content-Type", "").startswith("text/html")
        if request.path.startswith("/api/") or html:  # pages carry the CSRF token
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return add_headers
