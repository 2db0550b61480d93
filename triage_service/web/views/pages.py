"""Server-rendered pages (jinja2, autoescaped) and the static files they use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from triage_service.domain.codes import TRIAGE_MEANING, Role, TriageCode
from triage_service.domain.outcome_rules import rules_as_data
from triage_service.service import records
from triage_service.service.messages import is_participant
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes
from triage_service.web.auth import USER
from triage_service.web.state import SETTINGS, STORE

PACKAGE = Path(__file__).resolve().parents[2]


def data_folder(name: str) -> Path:
    """`templates` or `static`: inside the installed package (a wheel puts them there), else
    at the top level of the checkout (run from source or installed with `pip install -e`)."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


TEMPLATES = data_folder("templates")
STATIC = data_folder("static")
HOME: dict[Role, str] = {
    Role.OFFICER: "/officer",
    Role.CLINICIAN: "/console",
    Role.SUPERVISOR: "/supervisor",
    Role.ADMIN: "/supervisor",
    Role.RECEIVER: "/referrals",
}

# Where the sign-in page may send a user afterwards: this service's own pages, nothing else.
NEXT_PAGES = re.compile(r"/(officer|console|supervisor|referrals|session/[A-Za-z0-9_-]{1,64})")
JINJA = web.AppKey("jinja", jinja2.Environment)
routes = ApiRoutes()


def jinja_environment() -> jinja2.Environment:
    """Templates from `templates/`, autoescaped whatever their file name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.globals["static"] = "/static"  # create_app points it at the versioned prefix
    return env


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
        raise web.HTTPSeeOther(f"/?next={request.path}")
    if sign_in.user.role not in roles:
        raise web.HTTPSeeOther(HOME[sign_in.user.role])
    return sign_in


@routes.get("/")
async def sign_in_page(request: web.Request) -> web.Response:
    """The sign-in form; a signed-in user goes straight to their role's page."""
    sign_in = request[USER]
    if sign_in is not None:
        raise web.HTTPSeeOther(HOME[sign_in.user.role])
    return render(request, "login.html", next_page=safe_next(request.query.get("next")))


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
    return render(request, "console.html", active_sessions=sorted(active))


@routes.get("/referrals")
async def referrals_page(request: web.Request) -> web.Response:
    """A receiving team's inbox: its referrals due soonest first, accepted and completed here."""
    sign_in = page_user(request, Role.RECEIVER)
    return render(request, "referrals.html", team=sign_in.user.team or "")


@routes.get("/session/{id}")
async def session_page(request: web.Request) -> web.Response:
    """The call page for the owner officer or the assigned clinician."""
    sign_in = page_user(request, Role.OFFICER, Role.CLINICIAN)
    record = await records.load(request.app[STORE], request.match_info["id"])
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
        age_band=json.loads(record["form"])["subject"]["age_band"],
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
        return f"face-to-face within {hours // 24} days"
    return f"face-to-face within {hours} hours"
