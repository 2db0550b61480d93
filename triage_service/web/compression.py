"""Compressing dynamic answers: HTML pages and JSON of 1 KB or more go out gzip-encoded to a
client that accepts gzip, except the answers that carry a credential (BREACH; see
docs/security.md, V9). Static files are compressed once at start-up (web/assets.py)."""

from __future__ import annotations

from aiohttp import hdrs, web

from triage_service.web.errors import Handler

MIN_BYTES = 1024
COMPRESSED_TYPES = frozenset({"text/html", "application/json"})
# Answers holding a secret beside anything a request can put into them: the CSRF token
# (sign-in, /me), a TOTP secret or recovery codes, a passkey challenge, TURN credentials, the
# echo peer's SDP (its ICE password next to the client's own offer), identity providers'
# hand-offs. Their sizes must not tell an observer anything, so they are never compressed.
SECRET_PREFIXES = (
    "/api/v1/login",
    "/api/v1/me",
    "/api/v1/mfa/",
    "/api/v1/ice-servers",
    "/api/v1/connection-test",
    "/auth/",
)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (by name or `*`, q above 0; an
    explicit `gzip;q=0` refuses it whatever `*` says)."""
    named: float | None = None
    anything: float | None = None
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip() in ("gzip", "x-gzip"):
            named = quality
        elif coding.strip() == "*":
            anything = quality
    chosen = named if named is not None else anything
    return chosen is not None and chosen > 0


def compressible(request: web.Request, response: web.StreamResponse) -> bool:
    """An in-memory HTML or JSON answer of at least MIN_BYTES, not already encoded and not
    one that carries a credential."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return False
    return (
        response.content_type in COMPRESSED_TYPES
        and len(response.body) >= MIN_BYTES
        and hdrs.CONTENT_ENCODING not in response.headers
        and not request.path.startswith(SECRET_PREFIXES)
    )


@web.middleware
async def compression_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """gzip the answers `compressible` allows when the client accepts gzip; every HTML or
    JSON answer says it varies with Accept-Encoding."""
    response = await handler(request)
    if response.prepared:  # streamed (an export, a socket): already on its way
        return response
    if response.content_type in COMPRESSED_TYPES:
        response.headers.add(hdrs.VARY, hdrs.ACCEPT_ENCODING)
    if compressible(request, response) and accepts_gzip(
        request.headers.get(hdrs.ACCEPT_ENCODING, "")
    ):
        response.enable_compression(web.ContentCoding.gzip)
    return response
