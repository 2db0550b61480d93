"""The supervisor's dashboard page: live figures pushed over /ws, pictures drawn in the page."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.codes import STATS_ROLES
from triage_service.web.api import ApiRoutes
from triage_service.web.state import SETTINGS
from triage_service.web.views.pages import page_user, render

routes = ApiRoutes()


@routes.get("/supervisor")
async def supervisor_page(request: web.Request) -> web.Response:
    """The dashboard for supervisors (and admins); anyone else goes back to their own page.
    The upstream view offers the boards this supervisor may see (the whole service too,
    unless they are limited to boards)."""
    user = page_user(request, *STATS_ROLES).user
    boards = [
        b for b in request.app[SETTINGS].areas.boards if not user.boards or b.id in user.boards
    ]
    return render(request, "supervisor.html", boards=boards, whole_service=not user.boards)
