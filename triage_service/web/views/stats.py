"""Supervisors' statistics and the evaluation export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from triage_service.domain.codes import STATS_ROLES
from triage_service.domain.models import iso_z
from triage_service.domain.queries import ExportQuery, StatsQuery
from triage_service.export.csv import EXPORT_HEADERS, write_export
from triage_service.service.boards import board_for, boards_for_export
from triage_service.service.sessions import SignIn
from triage_service.stats.figures import scope_for
from triage_service.stats.models import Stats
from triage_service.stats.now import compute_stats
from triage_service.stats.window import Detail, Window, local_window, window_for
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
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
    return answer(stats)


@routes.endpoint(
    "GET",
    "/api/v1/stats/export.csv",
    summary="Evaluation export (CSV)",
    roles=STATS_ROLES,
    query=ExportQuery,
    media="text/csv",
    audited="export",
)
async def export_csv(
    request: web.Request, sign_in: SignIn, query: ExportQuery, *, access: AccessLog
) -> web.StreamResponse:
    """One de-identified row per request created in the window (`board`: one of the
    reader's boards, default all of theirs; `from`/`to`: the board's local days or times),
    streamed page by page."""
    export = await _audited_export(request, sign_in, query, access)
    response = await _stream(request, export, "csv", "text/csv", charset="utf-8")
    await write_export(
        request.app[STORE],
        request.app[SETTINGS],
        export.window,
        response,
        now_ms=request.app[CLOCK](),
        boards=export.boards,
    )
    await response.write_eof()
    return response


@routes.endpoint(
    "GET",
    "/api/v1/stats/export.fhir.ndjson",
    summary="Evaluation export (FHIR R4 Encounter and ServiceRequest, NDJSON)",
    roles=STATS_ROLES,
    query=ExportQuery,
    media="application/fhir+ndjson",
    audited="export_fhir",
)
async def export_fhir(
    request: web.Request, sign_in: SignIn, query: ExportQuery, *, access: AccessLog
) -> web.StreamResponse:
    """One de-identified Encounter per completed request created in the window and one
    ServiceRequest per referral, a resource a line, streamed page by page (`board`, `from`
    and `to` as for the CSV)."""
    # Imported here: the FHIR models take 0.27 s of CPU to load, which every start of the
    # service would pay for an export few make.
    from triage_service.export.fhir import write_fhir_export

    export = await _audited_export(request, sign_in, query, access)
    response = await _stream(request, export, "ndjson", "application/fhir+ndjson")
    await write_fhir_export(
        request.app[STORE], request.app[SETTINGS], export.window, response, boards=export.boards
    )
    await response.write_eof()
    return response


@dataclass(frozen=True, slots=True)
class Export:
    """What an export covers: its window, its boards (None: every request) and the time
    zone its days are counted in."""

    window: Window
    boards: tuple[str, ...] | None
    zone: ZoneInfo


async def _audited_export(
    request: web.Request, sign_in: SignIn, query: ExportQuery, access: AccessLog
) -> Export:
    """The export's boards and window (default the last 30 days; 422 naming a bad field,
    403 for a board not covered), logged with its span and boards."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    boards = boards_for_export(settings.areas, sign_in.user, query.board)
    zone = scope_for(settings, boards[0] if boards and len(boards) == 1 else None).zone
    window = local_window(query.window, query.from_, query.to, zone, now_ms=now_ms, default="30d")
    start, end = (_iso(ms) for ms in (window.from_ms, window.to_ms))
    await access.record(
        detail=f"{start}/{end}", extra={"from": start, "to": end, "board": ",".join(boards or ())}
    )
    return Export(window, boards, zone)


async def _stream(
    request: web.Request,
    export: Export,
    extension: str,
    content_type: str,
    *,
    charset: str | None = None,
) -> web.StreamResponse:
    """A prepared streaming response for an export, named after the local days it covers."""
    first, last = (
        datetime.fromtimestamp(ms / 1000, UTC).astimezone(export.zone).date()
        for ms in (export.window.from_ms, export.window.to_ms - 1)
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


def _iso(ms: int) -> str:
    """Epoch milliseconds as UTC ISO 8601, for the access log."""
    return iso_z(datetime.fromtimestamp(ms / 1000, UTC))
