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
from triage_service.web.auth import caller_address, cookie_name, set_session_cookie
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.identity import provider_sign_out
from triage_service.web.views.mfa import check_local_sign_in

routes = ApiRoutes()


@routes.endpoint(
    "POST",
    "/api/v1/login",
    summary="Sign in",
    body=Credentials,
    answer=SessionOut,
    signed_in=False,
    errors={
        401: "Wrong username or password; or a second factor is needed (mfa_required, "
        "mfa_enrolment_required) or was wrong",
        403: "The user's role may not sign in with a password here (local_sign_in_disabled), "
        "or another site's Origin (bad_origin)",
        429: "Too many failed sign-ins; wait",
    },
)
async def login(request: web.Request, credentials: Credentials) -> web.Response:
    """Check the password (and the second factor where one is needed), start a new session
    and set its cookie."""
    store, settings = request.app[STORE], request.app[SETTINGS]
    remote, name = caller_address(request), credentials.username
    await start_login(store, settings, username=name, remote=remote, now_ms=request.app[CLOCK]())
    now_ms = request.app[CLOCK]()
    user = await authenticate(store, name, credentials.password)
    if user is None:
        target = await find_user_id(store, name)
        await record_sign_in(store, "login_failed", user_id=target, role=None, now_ms=now_ms)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    factor = await check_local_sign_in(request, user, credentials)
    await login_ok(store, settings, username=name, remote=remote)
    await record_sign_in(
        store, "login", user_id=user.id, role=user.role.value, now_ms=now_ms, factor=factor
    )
    sign_in = await open_session(
        store, settings, user, request.app[CLOCK](), user_agent=request.headers.get("User-Agent")
    )
    response = answer(SessionOut(user=UserOut(**user.as_dict()), csrf_token=sign_in.csrf_token))
    set_session_cookie(response, settings, sign_in.token)
    return response


@routes.endpoint(
    "POST",
    "/api/v1/logout",
    summary="Sign out (header X-Sign-Out-Location: where to end the identity provider's "
    "session too, when signed in through one that offers it)",
    status=204,
)
async def logout(request: web.Request, sign_in: SignIn) -> web.Response:
    """End the session: the cookie is dead afterwards."""
    store, user = request.app[STORE], sign_in.user
    provider_url = await provider_sign_out(request, sign_in)
    await close_session(store, sign_in.token, user.id)
    await record_sign_in(
        store, "logout", user_id=user.id, role=user.role.value, now_ms=request.app[CLOCK]()
    )
    response = web.Response(status=204)
    if provider_url:
        response.headers["X-Sign-Out-Location"] = provider_url
    response.del_cookie(cookie_name(request.app[SETTINGS]), path="/")
    return response


@routes.endpoint("GET", "/api/v1/me", summary="The signed-in user", answer=SessionOut)
async def me(request: web.Request, sign_in: SignIn) -> web.Response:
    """Who is signed in, with the CSRF token to send on changes."""
    return answer(SessionOut(user=UserOut(**sign_in.user.as_dict()), csrf_token=sign_in.csrf_token))
