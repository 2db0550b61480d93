"""The signed-in user's own account: a new password, and their signed-in sessions."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from triage_service.domain.models import Strict, UtcDatetime
from triage_service.domain.times import to_datetime
from triage_service.service.accounts import WrongPassword, change_password
from triage_service.service.audit import record_sign_in
from triage_service.service.sessions import SignIn, end_session_by_id, list_sessions
from triage_service.service.throttle import login_ok, start_login
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.auth import caller_address
from triage_service.web.errors import invalid, not_found
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()


class PasswordChange(Strict):
    old: str = Field(min_length=1, max_length=256, description="the current password")
    new: str = Field(min_length=1, max_length=256, description="12+ characters, hard to guess")


class SessionItem(BaseModel):
    id: str
    created_at: UtcDatetime
    last_seen_at: UtcDatetime
    user_agent: str
    current: bool


class SessionsOut(BaseModel):
    sessions: list[SessionItem]


@routes.endpoint(
    "POST",
    "/api/v1/me/password",
    summary="Change my password (ends my other sessions)",
    body=PasswordChange,
    status=204,
    errors={
        422: "The current password is wrong (field old) or the new one is refused (field new)",
        429: "Too many wrong current passwords; wait",
    },
)
async def change_my_password(
    request: web.Request, sign_in: SignIn, change: PasswordChange
) -> web.Response:
    """Check the current password (throttled like sign-in), set the new one and end every
    other session of the user."""
    store, settings, user = request.app[STORE], request.app[SETTINGS], sign_in.user
    address, now_ms = caller_address(request), request.app[CLOCK]()
    await start_login(store, settings, username=user.username, remote=address, now_ms=now_ms)
    try:
        await change_password(store, user, old=change.old, new=change.new, keep=sign_in.token)
    except WrongPassword as e:
        raise invalid("wrong_password", "The current password is wrong.", {"old": str(e)}) from e
    except ValueError as e:
        await login_ok(store, settings, username=user.username, remote=address)
        raise invalid("weak_password", "The new password is refused.", {"new": str(e)}) from e
    await login_ok(store, settings, username=user.username, remote=address)
    role = user.role.value
    await record_sign_in(store, "password_changed", user_id=user.id, role=role, now_ms=now_ms)
    return web.Response(status=204)


@routes.endpoint("GET", "/api/v1/me/sessions", summary="My signed-in sessions", answer=SessionsOut)
async def my_sessions(request: web.Request, sign_in: SignIn) -> web.Response:
    """Every live session of the user, newest first: device, start, last use, which is this."""
    found = await list_sessions(
        request.app[STORE],
        request.app[SETTINGS],
        sign_in.user.id,
        current=sign_in.token,
        now_ms=request.app[CLOCK](),
    )
    items = [
        SessionItem(
            id=s.id,
            created_at=to_datetime(s.created_ms),
            last_seen_at=to_datetime(s.last_seen_ms),
            user_agent=s.user_agent,
            current=s.current,
        )
        for s in found
    ]
    return answer(SessionsOut(sessions=items))


@routes.endpoint("DELETE", "/api/v1/me/sessions/{id}", summary="End one of my sessions", status=204)
async def end_my_session(request: web.Request, sign_in: SignIn) -> web.Response:
    """End the session (this one included): its cookie is dead and its sockets close."""
    if not await end_session_by_id(request.app[STORE], sign_in.user.id, request.match_info["id"]):
        raise not_found("session")
    return web.Response(status=204)
