"""Signing in through an identity provider (OpenID Connect): `/auth/oidc/{provider}/login`
sends the browser there, `/auth/oidc/{provider}/callback` brings it back signed in; signing
out here ends the provider session too, where the provider offers that.

Cookies across the provider's redirect: the sign-in under way is bound to the browser by a
`SameSite=Lax` cookie (sent on the provider's top-level redirect back, unlike a Strict one).
The session cookie stays Strict: the callback sets it (a top-level navigation may) and sends
the browser to its page, and a page reached from another site without it takes one same-site
hop first (`pages.page_user`), after which the browser sends it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from triage_service.domain.errors import Conflict, DomainError, Forbidden
from triage_service.domain.providers import Provider
from triage_service.domain.users import User
from triage_service.service.audit import record_sign_in
from triage_service.service.identity import (
    begin_sign_in,
    finish_sign_in,
    provider_sign_out_url,
    remember_provider_session,
)
from triage_service.service.oidc import OidcClient, OidcError
from triage_service.service.sessions import SignIn, open_session
from triage_service.settings import Settings
from triage_service.web.api import ApiRoutes
from triage_service.web.auth import set_session_cookie
from triage_service.web.provider_http import AiohttpProviders
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.pages import HOME, render, safe_next

OIDC = web.AppKey("oidc", OidcClient)
FLOW_COOKIE = "triage_oidc"
TLS_FLOW_COOKIE = "__Host-triage_oidc"
routes = ApiRoutes()
# How each refusal is answered: the sign-in page explains it; the status says who failed.
FAILURE_STATUS = {
    "bad_state": 400,
    "provider_error": 400,
    "id_token_invalid": 401,
    "token_refused": 401,
    "provider_unreachable": 502,
    "bad_discovery": 502,
}


async def oidc_ctx(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client that talks to the identity providers; each provider's private key
    (if it signs in with one) is read now, so a bad key stops the start."""
    clock = app[CLOCK]
    async with aiohttp.ClientSession() as http:
        client = OidcClient(AiohttpProviders(http), clock_s=lambda: clock() / 1000)
        for provider in app[SETTINGS].oidc_providers.values():
            try:
                if provider.private_key_file:
                    client.private_key(provider)
            except (OSError, ValueError) as e:
                raise RuntimeError(f"identity provider {provider.id}: {e}") from e
        app[OIDC] = client
        yield


def public_origin(request: web.Request) -> str:
    """The origin browsers use for this service: `public_origin`, else as this request came."""
    return request.app[SETTINGS].public_origin or f"{request.scheme}://{request.host}"


def flow_cookie(settings: Settings) -> str:
    """The name of the cookie binding a sign-in under way to its browser."""
    return TLS_FLOW_COOKIE if settings.tls else FLOW_COOKIE


def provider_of(request: web.Request) -> Provider:
    """The provider named in the path; 404 when there is none by that name."""
    provider = request.app[SETTINGS].oidc_providers.get(request.match_info["provider"])
    if provider is None:
        raise web.HTTPNotFound()
    return provider


@routes.get("/auth/oidc/{provider}/login")
async def oidc_login(request: web.Request) -> web.StreamResponse:
    """Send the browser to the provider to sign in (code flow, PKCE S256, state, nonce)."""
    provider, settings = provider_of(request), request.app[SETTINGS]
    origin = public_origin(request)
    try:
        start = await begin_sign_in(
            request.app[STORE],
            request.app[OIDC],
            provider,
            redirect_uri=f"{origin}/auth/oidc/{provider.id}/callback",
            next_page=safe_next(request.query.get("next")),
        )
    except OidcError as e:
        return failed(request, provider, e)
    response = web.Response(status=302, headers={"Location": start.url})
    response.set_cookie(
        flow_cookie(settings),
        start.browser_secret,
        httponly=True,
        samesite="Lax",
        secure=settings.tls,
        path="/",
        max_age=600,
    )
    return response


@routes.get("/auth/oidc/{provider}/callback")
async def oidc_callback(request: web.Request) -> web.StreamResponse:
    """Back from the provider: check everything, then 303 to the user's page, signed in."""
    provider, query = provider_of(request), request.query
    if "error" in query:
        reason = query.get("error_description") or query["error"]
        error = OidcError("provider_error", f"{provider.name}: {reason[:200]}")
        return failed(request, provider, error)
    settings, store, now_ms = request.app[SETTINGS], request.app[STORE], request.app[CLOCK]()
    try:
        done = await finish_sign_in(
            store,
            request.app[OIDC],
            provider,
            state=query.get("state", ""),
            code=query.get("code", ""),
            browser_secret=request.cookies.get(flow_cookie(settings), ""),
            board_ids=settings.areas.board_ids,
            now_ms=now_ms,
        )
    except (OidcError, DomainError) as e:
        await record_sign_in(
            store, "login_failed", user_id=None, role=None, now_ms=now_ms, provider=provider.id
        )
        return failed(request, provider, e)
    sign_in = await start_session(request, done.user, provider=provider.id)
    await remember_provider_session(
        store, sign_in.token, provider, done.id_token, ttl_s=settings.session_absolute_s
    )
    response = web.Response(
        status=303, headers={"Location": done.next_page or HOME[done.user.role]}
    )
    set_session_cookie(response, settings, sign_in.token)
    response.del_cookie(flow_cookie(settings), path="/")
    return response


def failed(
    request: web.Request, provider: Provider, error: OidcError | DomainError
) -> web.Response:
    """A page saying why signing in through the provider failed, with a way to try again:
    403 for someone this service will not let in, 409 for a clash with another account,
    otherwise as `FAILURE_STATUS` says."""
    if isinstance(error, Forbidden):
        status = 403
    elif isinstance(error, Conflict):
        status = 409
    else:
        status = FAILURE_STATUS.get(error.code, 400)
    return render(
        request,
        "sign_in_failed.html",
        status=status,
        code=error.code,
        message=error.message,
        provider=provider,
    )


async def start_session(
    request: web.Request, user: User, *, provider: str | None = None, factor: str | None = None
) -> SignIn:
    """Open a sign-in session for `user` (the caller sets its cookie), audited with how
    they signed in."""
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    await record_sign_in(
        store,
        "login",
        user_id=user.id,
        role=user.role.value,
        now_ms=now_ms,
        provider=provider,
        factor=factor,
    )
    return await open_session(
        store,
        request.app[SETTINGS],
        user,
        now_ms,
        user_agent=request.headers.get("User-Agent"),
    )


async def provider_sign_out(request: web.Request, sign_in: SignIn) -> str | None:
    """Where the browser goes to end its provider session after signing out here, if the
    session came from a provider with an end-session endpoint."""
    return await provider_sign_out_url(
        request.app[STORE],
        request.app[OIDC],
        request.app[SETTINGS].oidc_providers,
        token=sign_in.token,
        after=public_origin(request) + "/",
    )
