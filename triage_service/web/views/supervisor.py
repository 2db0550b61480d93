"""The supervisor's pages: the dashboard (live figures pushed over /ws, pictures drawn in the
page) and a request read-only, as the REST answer shows it to them (no identifying fields)."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import RequestOut
from triage_service.domain.codes import STATS_ROLES, Role
from triage_service.report.month import last_month
from triage_service.service import records
from triage_service.service.documents import local_zone, printed_time
from triage_service.web.api import ApiRoutes
from triage_service.web.audited import AccessLog
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.pages import page_user, render
from triage_service.web.views.requests import shaped

routes = ApiRoutes()
AGE_BANDS = {"under_16": "under 16", "65_plus": "65 and over", "unknown": "not known"}


@routes.get("/supervisor")
async def supervisor_page(request: web.Request) -> web.Response:
    """The dashboard for supervisors (and admins); anyone else goes back to their own page.
    The upstream view offers the boards this supervisor may see (the whole service too,
    unless they are limited to boards), and links to each board's report of last month."""
    user = page_user(request, *STATS_ROLES).user
    boards = [
        b for b in request.app[SETTINGS].areas.boards if not user.boards or b.id in user.boards
    ]
    now_ms = request.app[CLOCK]()
    reports = [(b, last_month(now_ms, b.zone)) for b in boards]
    return render(
        request, "supervisor.html", boards=boards, whole_service=not user.boards, reports=reports
    )


@routes.get("/supervisor/requests/{id}")
async def supervisor_request_page(request: web.Request) -> web.Response:
    """One request as `GET /api/v1/requests/{id}` shows it to this supervisor, as a page:
    the same board scope (404 outside it) and the same access entry in the audit."""
    sign_in = page_user(request, Role.SUPERVISOR)
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    record = await records.load(store, request.match_info["id"])
    if record is None or not records.may_see(sign_in.user, record, now_ms):
        return render(request, "not_found.html", status=404)
    await AccessLog.of(request, sign_in.user, "record").record([record.id])
    seen: RequestOut = await shaped(request, sign_in, record)
    zone = local_zone(request.app[SETTINGS].areas, record)
    times = {
        name: printed_time(value, zone)
        for name, value in (
            ("created", seen.created_at),
            ("accepted", seen.accepted_at),
            ("completed", seen.completed_at),
        )
        if value
    }
    areas = request.app[SETTINGS].areas
    place = areas.area(seen.location.area_id or "") if seen.location else None
    band = seen.subject.age_band if seen.subject else None
    return render(
        request,
        "supervisor_request.html",
        seen=seen,
        times=times,
        board=areas.board(seen.board or ""),
        zone=str(zone),
        area=place.name if place else (seen.location.area if seen.location else None),
        age_band=AGE_BANDS.get(band.value, band.value.replace("_", " to ")) if band else None,
    )
