"""The aiohttp application: routes, middlewares and one cleanup context per resource."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from triage_service.domain.times import Clock, wall_clock_ms
from triage_service.live.foreground import Foreground
from triage_service.live.hub import Hub
from triage_service.settings import Settings
from triage_service.tasks import Supervisor
from triage_service.web.access import request_id_middleware
from triage_service.web.api import ENDPOINTS, ApiRoutes
from triage_service.web.assets import add_asset_routes
from triage_service.web.auth import session_middleware
from triage_service.web.background import (
    FOREGROUND,
    alerts_ctx,
    echo_peers_ctx,
    foreground_middleware,
    leases_ctx,
    redis_ctx,
    stats_push_ctx,
    sweeper_ctx,
    wakeups_ctx,
)
from triage_service.web.compression import compression_middleware
from triage_service.web.errors import deadline_middleware, error_middleware
from triage_service.web.metrics import METRICS, Metrics, metrics_middleware
from triage_service.web.openapi import OPENAPI_TEXT
from triage_service.web.security import origin_middleware, security_headers
from triage_service.web.state import CLOCK, DRAINING, HUB, SETTINGS, TASKS
from triage_service.web.templates import JINJA, STATIC, jinja_environment
from triage_service.web.views import (
    alarms,
    areas,
    audit,
    contacts,
    documents,
    feedback,
    guest_live,
    guests,
    identity,
    live,
    me,
    mfa,
    pages,
    participants,
    queue,
    record,
    referrals,
    reports,
    requests,
    rtc,
    session,
    stats,
    supervisor,
    system,
    transfers,
)

log = logging.getLogger(__name__)
ROUTE_TABLES: tuple[ApiRoutes, ...] = (
    session.routes,
    requests.routes,
    queue.routes,
    record.routes,
    contacts.routes,
    referrals.routes,
    system.routes,
    live.routes,
    rtc.routes,
    stats.routes,
    alarms.routes,
    areas.routes,
    audit.routes,
    documents.routes,
    feedback.routes,
    identity.routes,
    mfa.routes,
    me.routes,
    reports.routes,
    transfers.routes,
    participants.routes,
    guest_live.routes,
    guests.routes,
)


def create_app(settings: Settings, *, clock: Clock = wall_clock_ms) -> web.Application:
    """Wire routes, middlewares and resources; does no I/O until the app starts."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            foreground_middleware,
            request_id_middleware,
            metrics_middleware,
            compression_middleware,
            error_middleware,
            origin_middleware,
            deadline_middleware(settings.store_deadline_s, settings.body_timeout_s),
            session_middleware,
        ],
    )
    app[SETTINGS] = settings
    security_headers(app, settings)
    app[CLOCK] = clock
    app[METRICS] = Metrics()
    app[HUB] = Hub()
    app[FOREGROUND] = Foreground()
    app[TASKS] = Supervisor()
    app[DRAINING] = asyncio.Event()
    app[JINJA] = jinja_environment()
    app[ENDPOINTS] = [e for table in ROUTE_TABLES for e in table.endpoints]
    app[OPENAPI_TEXT] = []
    for table in ROUTE_TABLES:
        app.add_routes(table)
    app.add_routes(pages.routes)
    app.add_routes(supervisor.routes)
    assets = add_asset_routes(app, STATIC)
    app[JINJA].globals["static"] = assets.prefix
    app.router.add_static("/static", STATIC)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(sweeper_ctx)
    app.cleanup_ctx.append(wakeups_ctx)
    app.cleanup_ctx.append(stats_push_ctx)
    app.cleanup_ctx.append(leases_ctx)
    app.cleanup_ctx.append(alerts_ctx)
    app.cleanup_ctx.append(echo_peers_ctx)
    app.cleanup_ctx.append(identity.oidc_ctx)
    app.on_shutdown.append(close_sockets)
    return app


def server_options(settings: Settings) -> dict[str, float]:
    """aiohttp server settings: an idle or slow connection (request head included, from the
    moment it opens) is closed after header_timeout_s."""
    return {"keepalive_timeout": settings.header_timeout_s}


async def close_sockets(app: web.Application) -> None:
    """Close every live socket with SERVICE_RESTART (reconnect, to another instance) so
    shutdown does not wait on them."""
    await app[HUB].close_all()
