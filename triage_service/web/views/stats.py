"""Supervisors' statistics and the evaluation export."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from triage_service.domain.codes import STATS_ROLES
from triage_service.domain.models import iso_z
from triage_service.domain.queries import ExportQuery, StatsQuery, WindowQuery
from triage_service.export.csv import EXPORT_HEADERS, write_export
from triage_service.export.fhir import write_fhir_export
from triage_service.service.audit import record_access
from triage_service.service.boards import board_for
from triage_service.service.sessions import SignIn
from triage_service.stats.figures import scope_for
from triage_service.stats.models import Stats
from triage_service.stats.now import compute_stats
from triage_service.stats.window import Detail, Window, window_for
from triage_service.web.api import ApiRoutes
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()


@routes.endpoint(
    "GET",
    "/api/v1/stats",
    summary="Live queue and window statistics",
    roles=STATS_ROLES,
    query=StatsQuery,
    answer=Stats,
)
async def get_stats(request: web.Request, sign_in: SignIn, query: StatsQuery) -> web.Response:
    """`window=1h|24h|7d|30d` (default 24h) or `from`/`to`, optional `board` (a supervisor
    limited to boards sees only theirs: 403 for another), `series`, `heat_map`; 422 names a
    bad field."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    window = window_for(query.window, query.from_, query.to, now_ms=now_ms)
    stats = await compute_stats(
        request.app[STORE],
        settings,
        window,
        now_ms=now_ms,
        detail=Detail(series=query.series, heat_map=query.heat_map),
        scope=scope_for(settings, board_for(settings.areas, sign_in.user, query.board)),
    )
    return web.Response(text=stats.model_dump_json(), content_type="application/json")


@routes.endpoint(
    "GET",
    "/api/v1/stats/export.csv",
    summary="Evaluation export (CSV)",
    roles=STATS_ROLES,
    query=ExportQuery,
    media="text/csv",
)
async def export_csv(
    request: web.Request, sign_in: SignIn, query: ExportQuery
) -> web.StreamResponse:
    """One de-identified row per request created in the window, streamed page by page."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    board = board_for(settings.areas, sign_in.user, query.board)
    window = await _audited_window(request, sign_in, query, action="export", now_ms=now_ms)
    response = await _stream(request, window, "csv", "text/csv", charset="utf-8")
    await write_export(request.app[STORE], settings, window, response, now_ms=now_ms, board=board)
    await response.write_eof()
    return response


@routes.endpoint(
    "GET",
    "/api/v1/stats/export.fhir.ndjson",
    summary="Evaluation export (FHIR R4 Encounter and ServiceRequest, NDJSON)",
    roles=STATS_ROLES,
    query=ExportQuery,
    media="application/fhir+ndjson",
)
async def export_fhir(
    request: web.Request, sign_in: SignIn, query: ExportQuery
) -> web.StreamResponse:
    """One de-identified Encounter per completed request created in the window and one
    ServiceRequest per referral, a resource a line, streamed page by page."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    board = board_for(settings.areas, sign_in.user, query.board)
    window = await _audited_window(request, sign_in, query, action="export_fhir", now_ms=now_ms)
    response = await _stream(request, window, "ndjson", "application/fhir+ndjson")
    await write_fhir_export(request.app[STORE], settings, window, response, board=board)
    await response.write_eof()
    return response


async def _audited_window(
    request: web.Request, sign_in: SignIn, query: WindowQuery, *, action: str, now_ms: int
) -> Window:
    """The export's window (default the last 30 days; 422 naming a bad field), logged."""
    window = window_for(query.window, query.from_, query.to, now_ms=now_ms, default="30d")
    await record_access(
        request.app[STORE],
        sign_in.user,
        action=action,
        detail=_span(window),
        reason=request.headers.get("X-Access-Reason"),
        now_ms=now_ms,
    )
    return window


async def _stream(
    request: web.Request,
    window: Window,
    extension: str,
    content_type: str,
    *,
    charset: str | None = None,
) -> web.StreamResponse:
    """A prepared streaming response for an export, named after the days it covers (UTC)."""
    first, last = (
        datetime.fromtimestamp(ms / 1000, UTC).date() for ms in (window.from_ms, window.to_ms - 1)
    )
    name = f"triage-evaluation-{first}-to-{last}.{extension}"
    response = web.StreamResponse(
        headers={**EXPORT_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    )
    response.content_type = content_type
    if charset:
        response.charset = charset
    await response.prepare(request)
    return response


def _span(window: Window) -> str:
    """The window as an ISO 8601 interval, for the access log."""
    start, end = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (window.from_ms, window.to_ms))
    return f"{iso_z(start)}/{iso_z(end)}"
