"""Sign-in sessions in Redis, CSRF tokens and sign-in rate limiting."""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.service.sessions import SignIn, load_session
from triage_service.settings import Settings
from triage_service.web.errors import ApiError, Handler
from triage_service.web.proxies import FORWARDED_FOR, client_address
from triage_service.web.state import CLOCK, SETTINGS, STORE

COOKIE = "triage_session"
TLS_COOKIE = "__Host-triage_session"
# What `secrets.token_urlsafe` makes; anything else (odd bytes included) is no session.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


USER: web.RequestKey[SignIn | None] = web.RequestKey("sign_in")


def cookie_name(settings: Settings) -> str:
    """The session cookie's name: `__Host-` prefixed under TLS."""
    return TLS_COOKIE if settings.tls else COOKIE


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    """Give the browser a sign-in session's cookie: HttpOnly, SameSite=Strict, Secure (and
    `__Host-`) under TLS, for the session's absolute lifetime."""
    response.set_cookie(
        cookie_name(settings),
        token,
        httponly=True,
        samesite="Strict",
        secure=settings.tls,
        path="/",
        max_age=settings.session_absolute_s,
    )


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in session (or None) from the cookie to the request."""
    token = request.cookies.get(cookie_name(request.app[SETTINGS]))
    request[USER] = None
    if token and TOKEN_SHAPE.fullmatch(token) and not request.path.startswith("/static/"):
        request[USER] = await load_session(
            request.app[STORE], request.app[SETTINGS], token, request.app[CLOCK]()
        )
    return await handler(request)


def require(sign_in: SignIn | None, roles: frozenset[Role] | None) -> SignIn:
    """The 401/403 checks in contract order: signed in first, then role."""
    if sign_in is None:
        raise ApiError(401, "not_signed_in", "Sign in first.")
    if roles is not None and sign_in.user.role not in roles:
        raise ApiError(403, "forbidden", "Your role may not do this.")
    return sign_in


def check_csrf(request: web.Request, sign_in: SignIn) -> None:
    """Every non-GET request must echo the session's CSRF token in `X-CSRF-Token`."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not secrets.compare_digest(request.headers.get("X-CSRF-Token", ""), sign_in.csrf_token):
        raise ApiError(403, "csrf", "Missing or wrong X-CSRF-Token header.")


def caller_address(request: web.Request) -> str:
    """The client's address: the socket's peer, or what a trusted proxy says it saw."""
    trusted = request.app[SETTINGS].trusted_proxy_networks
    forwarded = request.headers.getall(FORWARDED_FOR, []) if trusted else []
    return client_address(request.remote, forwarded, trusted)
