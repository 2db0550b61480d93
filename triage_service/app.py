"""The aiohttp application: routes, middlewares and one cleanup context per resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .api import ENDPOINTS, ApiRoutes
from .auth import session_middleware
from .embedded_redis import EmbeddedRedis
from .errors import deadline_middleware, error_middleware
from .live import HUB, Hub
from .metrics import METRICS, Metrics, metrics_middleware
from .rtc.echo import echo_peers_ctx
from .security import security_headers
from .settings import Settings
from .state import CLOCK, SETTINGS, STORE, Clock, wall_clock_ms
from .stats_push import stats_push_ctx
from .store import Store, connect
from .timers import sweeper_ctx
from .views import (
    live,
    pages,
    queue,
    record,
    referrals,
    requests,
    rtc,
    session,
    stats,
    supervisor,
    system,
)
from .wakeups import wakeups_ctx

log = logging.getLogger(__name__)
ROUTE_TABLES: tuple[ApiRoutes, ...] = (session.routes, requests.routes, queue.routes,
                                       record.routes, referrals.routes, system.routes,
                                       live.routes, rtc.routes, stats.routes)


def create_app(settings: Settings, *, clock: Clock = wall_clock_ms) -> web.Application:
    """Wire routes, middlewares and resources; does no I/O until the app starts."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[security_headers(settings), error_middleware, metrics_middleware,
                     deadline_middleware(settings.store_deadline_s), session_middleware])
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = Metrics()
    app[HUB] = Hub()
    app[pages.JINJA] = pages.jinja_environment()
    app[ENDPOINTS] = [e for table in ROUTE_TABLES for e in table.endpoints]
    for table in ROUTE_TABLES:
        app.add_routes(table)
    app.add_routes(pages.routes)
    app.add_routes(supervisor.routes)
    app.router.add_static("/static", pages.STATIC)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(sweeper_ctx)
    app.cleanup_ctx.append(wakeups_ctx)
    app.cleanup_ctx.append(stats_push_ctx)
    app.cleanup_ctx.append(echo_peers_ctx)
    app.on_shutdown.append(close_sockets)
    return app


async def close_sockets(app: web.Application) -> None:
    """Close every live socket with GOING_AWAY so shutdown does not wait on them."""
    await app[HUB].close_all()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connect to Redis (starting the embedded server when no URL is set); close on exit."""
    settings = app[SETTINGS]
    embedded = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_path)
        url = await embedded.start()
    try:
        client = await connect(url)
        app[STORE] = Store(client, settings.key_prefix)
        yield
        await client.aclose()
    finally:
        if embedded is not None:
            await embedded.stop()
