"""The area directory: health boards and the areas officers choose from."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import AreaOut, AreasOut, BoardOut
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import SETTINGS

routes = ApiRoutes()


@routes.endpoint(
    "GET",
    "/api/v1/areas",
    summary="Health boards and their areas",
    answer=AreasOut,
)
async def get_areas(request: web.Request, sign_in: SignIn) -> web.Response:
    """Every board (with its time zone and emergency number) and its areas (with
    coordinates when known)."""
    boards = [
        BoardOut(
            id=board.id,
            name=board.name,
            timezone=board.timezone,
            emergency_number=board.emergency_number,
            areas=[AreaOut(id=a.id, name=a.name, lat=a.lat, lon=a.lon) for a in board.areas],
        )
        for board in request.app[SETTINGS].areas.boards
    ]
    return answer(AreasOut(boards=boards))
