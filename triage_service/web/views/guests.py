"""Guests: the clinician's links (make, revoke), the guest page a link opens, and what that
page may do with no account: read who is in the call, chat, get TURN credentials, leave."""

from __future__ import annotations

import hmac

from aiohttp import web

from triage_service.domain.answers import MessageList, MessageOut
from triage_service.domain.codes import Role
from triage_service.domain.models import MessageForm
from triage_service.domain.participants import GuestForm, GuestLinkOut, ParticipantsOut
from triage_service.domain.times import to_datetime
from triage_service.rtc.turn import ice_servers_for
from triage_service.service import guests, participants
from triage_service.service.guests import Guest
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.templates import JINJA
from triage_service.web.views.participants import assigned_record, people_out
from triage_service.web.views.rtc import IceServersOut

routes = ApiRoutes()
GUEST_COOKIE = "triage_guest"
TLS_GUEST_COOKIE = "__Host-triage_guest"


def guest_cookie(request: web.Request) -> str:
    """The guest page cookie's name: `__Host-` prefixed under TLS."""
    return TLS_GUEST_COOKIE if request.app[SETTINGS].tls else GUEST_COOKIE


async def page_guest(request: web.Request, *, change: bool = False) -> tuple[Guest, str]:
    """The guest whose page sent this request (401 when none, or no longer in the call; 403
    when a change comes without the page's CSRF token)."""
    cookie = request.cookies.get(guest_cookie(request), "")
    found = await guests.guest_of_page(request.app[STORE], cookie, now_ms=request.app[CLOCK]())
    if found is None:
        raise ApiError(401, "not_signed_in", "This guest page is no longer in the call.")
    sent = request.headers.get("X-CSRF-Token", "")
    if change and not hmac.compare_digest(sent.encode(), found[1].encode()):
        raise ApiError(403, "csrf", "Missing or wrong X-CSRF-Token header.")
    return found


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/guests",
    summary="Make a single-use guest link to the call (the session's clinician)",
    roles=(Role.CLINICIAN,),
    body=GuestForm,
    answer=GuestLinkOut,
    status=201,
    errors={409: "Not in session (not_in_session) or the call is full (call_full)"},
)
async def invite_guest(request: web.Request, sign_in: SignIn, form: GuestForm) -> web.Response:
    """The link's token is in the answer once; only its hash is kept."""
    record = await assigned_record(request, sign_in)
    made = await guests.invite(
        request.app[STORE], record, sign_in.user, form, now_ms=request.app[CLOCK]()
    )
    origin = request.app[SETTINGS].public_origin or f"{request.scheme}://{request.host}"
    link = GuestLinkOut(
        id=made.guest_id,
        url=f"{origin}/guest/{made.token}",
        expires_at=to_datetime(made.expires_ms),
    )
    return answer(link, status=201)


@routes.endpoint(
    "DELETE",
    "/api/v1/requests/{id}/guests/{guest_id}",
    summary="Revoke a guest link (and take the guest out of the call)",
    roles=(Role.CLINICIAN,),
    status=204,
)
async def revoke_guest(request: web.Request, sign_in: SignIn) -> web.Response:
    """The link is refused from now on; a guest in the call is taken out of it."""
    record = await assigned_record(request, sign_in)
    await guests.revoke(
        request.app[STORE],
        record,
        sign_in.user,
        request.match_info["guest_id"],
        now_ms=request.app[CLOCK](),
    )
    return web.Response(status=204)


@routes.get("/guest/{token:[A-Za-z0-9_-]{20,128}}")
async def guest_page(request: web.Request) -> web.Response:
    """A guest link: the first opening joins the call (the page may reload); any other, or
    one after the session, the expiry or a revocation, gets a page saying it is refused."""
    if request.method == "HEAD":  # a link checker's look does not use the link up
        return web.Response(content_type="text/html", headers={"Cache-Control": "no-store"})
    store, now_ms, token = request.app[STORE], request.app[CLOCK](), request.match_info["token"]
    cookie = request.cookies.get(guest_cookie(request), "")
    again = await guests.guest_of_page(store, cookie, now_ms=now_ms) if cookie else None
    if again is not None and await guests.opened_with(store, again[0], token):
        return _render(request, "join.html", guest=again[0], csrf=again[1])
    try:
        guest = await guests.admit(store, token, now_ms=now_ms)
    except guests.GuestRefused as e:
        return _render(request, "guest_refused.html", status=410, reason=e.reason)
    cookie, csrf = await guests.open_page_session(store, guest, now_ms=now_ms)
    response = _render(request, "join.html", guest=guest, csrf=csrf)
    settings = request.app[SETTINGS]
    response.set_cookie(
        guest_cookie(request), cookie, httponly=True, samesite="Strict", secure=settings.tls,
        path="/", max_age=guests.LINK_MAX_S,
    )  # fmt: skip
    return response


def _render(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    guest: Guest | None = None,
    csrf: str = "",
    reason: str = "",
) -> web.Response:
    """A guest's page: nothing of the record but who is in the call."""
    context = {"user": None, "csrf_token": csrf, "settings": request.app[SETTINGS]}
    if guest is not None:
        context |= {
            "kind": "guest",
            "title": f"Call with the mental-health team ({guest.role})",
            "request_id": guest.record.id,
            "me": guest.id,
            "base": "/api/v1/guest",
            "ws_path": "/guest/live",
            "ice_path": "/api/v1/guest/ice-servers",
        }
    page = request.app[JINJA].get_template(template).render(reason=reason, **context)
    response = web.Response(text=page, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.endpoint(
    "GET",
    "/api/v1/guest/participants",
    summary="Who is in the call (a guest page; no record data)",
    signed_in=False,
    answer=ParticipantsOut,
    errors={401: "Not a guest page in a running call"},
)
async def guest_participants(request: web.Request) -> web.Response:
    """The people in the guest's call."""
    guest, _ = await page_guest(request)
    found = await participants.people(request.app[STORE], guest.record)
    return answer(people_out(guest.record, guest.id, found))


@routes.endpoint(
    "GET",
    "/api/v1/guest/messages",
    summary="The call's chat since the guest joined (a guest page)",
    signed_in=False,
    answer=MessageList,
    errors={401: "Not a guest page in a running call"},
)
async def guest_messages(request: web.Request) -> web.Response:
    """The chat of the guest's call since they joined, oldest first."""
    guest, _ = await page_guest(request)
    found = await guests.chat_since_joining(request.app[STORE], guest)
    return answer(MessageList(messages=found))


@routes.endpoint(
    "POST",
    "/api/v1/guest/messages",
    summary="Send a chat message (a guest page)",
    signed_in=False,
    body=MessageForm,
    answer=MessageOut,
    status=201,
    errors={401: "Not a guest page in a running call", 403: "No CSRF token"},
)
async def guest_post_message(request: web.Request, form: MessageForm) -> web.Response:
    """A message from the guest, kept with the record."""
    guest, _ = await page_guest(request, change=True)
    message = await guests.post_message(
        request.app[STORE], guest, form.text, now_ms=request.app[CLOCK]()
    )
    return answer(message, status=201)


@routes.endpoint(
    "GET",
    "/api/v1/guest/ice-servers",
    summary="STUN/TURN servers for a guest page, credentials lasting no longer than its link",
    signed_in=False,
    answer=IceServersOut,
    errors={401: "Not a guest page in a running call"},
)
async def guest_ice_servers(request: web.Request) -> web.Response:
    """TURN credentials for this guest only while in the call, never past the link's expiry."""
    guest, _ = await page_guest(request)
    settings, now_ms = request.app[SETTINGS], request.app[CLOCK]()
    left_s = (await guests.expires_ms(request.app[STORE], guest) - now_ms) // 1000
    servers = ice_servers_for(
        configured=settings.ice_server_list,
        turn_secret=settings.turn_secret,
        turn_urls=settings.turn_urls,
        user_id=f"guest-{guest.id}",
        now_s=now_ms // 1000,
        ttl_s=max(1, min(settings.turn_ttl_s, left_s)),
    )
    found = IceServersOut.model_validate({"iceServers": servers})
    return answer(found, exclude_unset=True, headers={"Cache-Control": "no-store"})


@routes.endpoint(
    "POST",
    "/api/v1/guest/leave",
    summary="Leave the call (a guest page)",
    signed_in=False,
    status=204,
    errors={401: "Not a guest page in a running call", 403: "No CSRF token"},
)
async def guest_leave(request: web.Request) -> web.Response:
    """The guest is out of the call; the others stay connected."""
    guest, _ = await page_guest(request, change=True)
    await guests.leave(request.app[STORE], guest, now_ms=request.app[CLOCK]())
    return web.Response(status=204)
