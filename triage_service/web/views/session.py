"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import SessionOut, UserOut
from triage_service.domain.models import Credentials
from triage_service.service.accounts import authenticate, find_user_id
from triage_service.service.audit import record_sign_in
from triage_service.service.sessions import SignIn, close_session, open_session
from triage_service.service.throttle import login_ok, start_login
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.auth import cookie_name
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()


@routes.endpoint(
    "POST",
    "/api/v1/login",
    summary="Sign in",
    body=Credentials,
    answer=SessionOut,
    signed_in=False,
    errors={401: "Wrong username or password", 429: "Too many failed sign-ins; wait"},
)
async def login(request: web.Request, credentials: Credentials) -> web.Response:
    """Check the password, start a new session and set its cookie."""
    store, settings = request.app[STORE], request.app[SETTINGS]
    remote, name = request.remote or "unknown", credentials.username
    await start_login(store, settings, username=name, remote=remote, now_ms=request.app[CLOCK]())
    now_ms = request.app[CLOCK]()
    user = await authenticate(store, name, credentials.password)
    if user is None:
        target = await find_user_id(store, name)
        await record_sign_in(store, "login_failed", user_id=target, role=None, now_ms=now_ms)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    await login_ok(store, settings, username=name, remote=remote)
    await record_sign_in(store, "login", user_id=user.id, role=user.role.value, now_ms=now_ms)
    sign_in = await open_session(store, settings, user, request.app[CLOCK]())
    response = answer(SessionOut(user=UserOut(**user.as_dict()), csrf_token=sign_in.csrf_token))
    response.set_cookie(
        cookie_name(settings),
        sign_in.token,
        httponly=True,
        samesite="Strict",
        secure=settings.tls,
        path="/",
        max_age=settings.session_absolute_s,
    )
    return response


@routes.endpoint("POST", "/api/v1/logout", summary="Sign out", status=204)
async def logout(request: web.Request, sign_in: SignIn) -> web.Response:
    """End the session: the cookie is dead afterwards."""
    store, user = request.app[STORE], sign_in.user
    await close_session(store, sign_in.token, user.id)
    await record_sign_in(
        store, "logout", user_id=user.id, role=user.role.value, now_ms=request.app[CLOCK]()
    )
    response = web.Response(status=204)
    response.del_cookie(cookie_name(request.app[SETTINGS]), path="/")
    return response


@routes.endpoint("GET", "/api/v1/me", summary="The signed-in user", answer=SessionOut)
async def me(request: web.Request, sign_in: SignIn) -> web.Response:
    """Who is signed in, with the CSRF token to send on changes."""
    return answer(SessionOut(user=UserOut(**sign_in.user.as_dict()), csrf_token=sign_in.csrf_token))
