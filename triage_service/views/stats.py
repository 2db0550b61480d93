"""Supervisors' statistics and the evaluation export."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from ..api import ApiRoutes
from ..audit import record_access
from ..auth import SignIn
from ..export import EXPORT_HEADERS, write_export
from ..models import iso_z
from ..state import CLOCK, SETTINGS, STORE
from ..stats_live import compute_stats
from ..stats_models import Stats
from ..stats_push import STATS_ROLES
from ..stats_window import Window, parse_detail, parse_window

routes = ApiRoutes()


@routes.endpoint("GET", "/api/v1/stats", summary="Live queue and window statistics",
                 roles=STATS_ROLES, answer=Stats)
async def get_stats(request: web.Request, sign_in: SignIn) -> web.Response:
    """`window=1h|24h|7d|30d` (default 24h) or `from`/`to`, and optional `series`,
    `heat_map`; 422 names a bad field."""
    now_ms = request.app[CLOCK]()
    window = parse_window(request.query, now_ms=now_ms)
    stats = await compute_stats(request.app[STORE], request.app[SETTINGS], window,
                                now_ms=now_ms, detail=parse_detail(request.query))
    return web.Response(text=stats.model_dump_json(), content_type="application/json")


@routes.endpoint("GET", "/api/v1/stats/export.csv", summary="Evaluation export (CSV)",
                 roles=STATS_ROLES)
async def export_csv(request: web.Request, sign_in: SignIn) -> web.StreamResponse:
    """One de-identified row per request created in the window, streamed page by page."""
    now_ms = request.app[CLOCK]()
    window = parse_window(request.query, now_ms=now_ms, default="30d")
    store = request.app[STORE]
    await record_access(store, sign_in.user, action="export", record_id=_span(window),
                        now_ms=now_ms)
    response = web.StreamResponse(headers=EXPORT_HEADERS)
    response.content_type = "text/csv"
    response.charset = "utf-8"
    await response.prepare(request)
    await write_export(store, request.app[SETTINGS], window, response, now_ms=now_ms)
    await response.write_eof()
    return response


def _span(window: Window) -> str:
    """The window as an ISO 8601 interval, for the access log."""
    start, end = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (window.from_ms, window.to_ms))
    return f"{iso_z(start)}/{iso_z(end)}"
