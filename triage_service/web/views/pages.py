"""Server-rendered pages (jinja2, autoescaped) and the static files they use."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from triage_service.domain.codes import TRIAGE_MEANING, Role, TriageCode
from triage_service.domain.outcome_rules import rules_as_data
from triage_service.domain.teams import team_name
from triage_service.domain.words import plural
from triage_service.service import records
from triage_service.service.messages import is_participant
from triage_service.service.participants import is_consultant, pending_consults
from triage_service.service.sessions import SignIn
from triage_service.store import Request
from triage_service.web.api import ApiRoutes
from triage_service.web.auth import USER
from triage_service.web.state import SETTINGS, STORE
from triage_service.web.templates import JINJA

HOME: dict[Role, str] = {
    Role.OFFICER: "/officer",
    Role.CLINICIAN: "/console",
    Role.SUPERVISOR: "/supervisor",
    Role.ADMIN: "/supervisor",
    Role.RECEIVER: "/referrals",
}

# Where the sign-in page may send a user afterwards: this service's own pages, nothing else.
NEXT_PAGES = re.compile(
    r"/(officer|console|supervisor|referrals|session/[A-Za-z0-9_-]{1,64}"
    r"|reports/[a-z0-9_-]{1,32}/\d{4}-\d{2}(\.pdf)?)"
)
routes = ApiRoutes()


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render a page with the signed-in user (if any) and the CSRF token."""
    sign_in = request[USER]
    page = (
        request.app[JINJA]
        .get_template(template)
        .render(
            user=sign_in.user if sign_in else None,
            csrf_token=sign_in.csrf_token if sign_in else "",
            settings=request.app[SETTINGS],
            **context,
        )
    )
    return web.Response(text=page, status=status, content_type="text/html")


def page_user(request: web.Request, *roles: Role) -> SignIn:
    """The signed-in user if their role may see this page; otherwise back to sign-in."""
    sign_in = request[USER]
    if sign_in is None:
        raise cross_site_hop(request) or web.HTTPSeeOther(f"/?next={request.path}")
    if sign_in.user.role not in roles:
        raise web.HTTPSeeOther(HOME[sign_in.user.role])
    return sign_in


def cross_site_hop(request: web.Request) -> web.HTTPOk | None:
    """For a page opened from another site (a link, an identity provider's redirect back),
    which brings no SameSite=Strict session cookie: a page that opens it again from here,
    so that the browser sends the cookie if it has one. None for any other request."""
    headers = request.headers
    if headers.get("Sec-Fetch-Site") != "cross-site" or headers.get("Sec-Fetch-Mode") != "navigate":
        return None
    page = request.app[JINJA].get_template("cross_site_hop.html")
    text = page.render(
        user=None, csrf_token="", settings=request.app[SETTINGS], here=request.path_qs
    )
    return web.HTTPOk(text=text, content_type="text/html")


@routes.get("/")
async def sign_in_page(request: web.Request) -> web.Response:
    """The sign-in form (with a button per identity provider); a signed-in user goes
    straight to their role's page."""
    sign_in = request[USER]
    if sign_in is not None:
        raise web.HTTPSeeOther(HOME[sign_in.user.role])
    if hop := cross_site_hop(request):
        raise hop
    settings = request.app[SETTINGS]
    return render(
        request,
        "login.html",
        next_page=safe_next(request.query.get("next")),
        providers=list(settings.oidc_providers.values()),
        password_sign_in=bool(settings.local_roles),
    )


def safe_next(raw: str | None) -> str:
    """`raw` if it is one of this service's page paths, else "" (no open redirect)."""
    return raw if raw and NEXT_PAGES.fullmatch(raw) else ""


@routes.get("/officer")
async def officer_page(request: web.Request) -> web.Response:
    """The officer's phone page: request form, waiting screen, outcome."""
    page_user(request, Role.OFFICER)
    return render(request, "officer.html")


@routes.get("/console")
async def console_page(request: web.Request) -> web.Response:
    """The clinician's console: availability, live queue, referrals."""
    sign_in = page_user(request, Role.CLINICIAN)
    store = request.app[STORE]
    active = await store.clinicians.in_session(sign_in.user.id)
    consults = await pending_consults(store, sign_in.user)
    return render(request, "console.html", active_sessions=sorted(active), consults=consults)


@routes.get("/referrals")
async def referrals_page(request: web.Request) -> web.Response:
    """A receiving team's inbox: its referrals due soonest first, accepted and completed here."""
    sign_in = page_user(request, Role.RECEIVER)
    team = sign_in.user.team or ""
    name = team_name(team, request.app[SETTINGS].areas) if team else ""
    return render(request, "referrals.html", team=team, team_name=name)


@routes.get("/session/{id}")
async def session_page(request: web.Request) -> web.Response:
    """The call page for the owner officer or the assigned clinician."""
    sign_in = page_user(request, Role.OFFICER, Role.CLINICIAN)
    record = await records.load(request.app[STORE], request.match_info["id"])
    if record is not None and await is_consultant(request.app[STORE], record, sign_in.user):
        return consultant_page(request, record, sign_in)
    if record is None or not is_participant(sign_in.user, record):
        return render(request, "not_found.html", status=404)
    targets = request.app[SETTINGS].response_targets
    return render(
        request,
        "session.html",
        request_id=request.match_info["id"],
        role=sign_in.user.role.value,
        triage_meaning={code.value: text for code, text in TRIAGE_MEANING.items()},
        response_target={code.value: response_target(code, targets) for code in TriageCode},
        outcome_rules=rules_as_data(targets),
        age_band=record.form["subject"]["age_band"],
        emergency_number=request.app[SETTINGS].areas.emergency_number(record.board),
    )


def consultant_page(request: web.Request, record: Request, sign_in: SignIn) -> web.Response:
    """A consultant's page: the call and the chat (the session's clinician keeps the rest)."""
    return render(
        request,
        "join.html",
        kind="consultant",
        title="Consulting in a call",
        request_id=record.id,
        me=sign_in.user.id,
        base=f"/api/v1/requests/{record.id}",
        ws_path="/ws",
        ice_path="/api/v1/ice-servers",
    )


def response_target(code: TriageCode, targets_h: dict[str, int]) -> str:
    """The response a triage code calls for, in words (B to E from the settings)."""
    if code is TriageCode.A:
        return "immediate: emergency services"
    if code.value not in targets_h:
        return "referral to another service" if code is TriageCode.F else "none"
    hours = targets_h[code.value]
    if hours % 168 == 0:
        return f"face-to-face within {hours // 168} week{'s' if hours > 168 else ''}"
    if hours > 24 and hours % 24 == 0:
        return f"face-to-face within {plural(hours // 24, 'day')}"
    return f"face-to-face within {plural(hours, 'hour')}"
