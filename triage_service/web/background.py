"""Background work for the life of the app: one cleanup context per resource, each started
when the app starts and stopped (cancelled and awaited) when it stops; and the foreground
(HTTP requests) the queue broadcast gives way to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import hdrs, web

from triage_service.live.foreground import Foreground
from triage_service.live.leases import renew_forever
from triage_service.live.stats_push import push_forever
from triage_service.live.wakeups import Dispatcher, broadcast_queue_changes, listen
from triage_service.rtc.echo import EchoPeers
from triage_service.service.migrations import ensure_schema
from triage_service.service.timers import sweep_forever
from triage_service.store import EmbeddedRedis, Store, connect
from triage_service.store.store import follow_master
from triage_service.tasks import stop_task
from triage_service.web.alerts import Escalator, escalate_forever
from triage_service.web.errors import Handler
from triage_service.web.state import CLOCK, ECHO_PEERS, EMBEDDED, HUB, SETTINGS, STORE, TASKS

DISPATCHER = web.AppKey("dispatcher", Dispatcher)
FOREGROUND = web.AppKey("foreground", Foreground)


@web.middleware
async def foreground_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request as served in the foreground while it is (a live socket, open for
    hours, is not a request being served)."""
    if request.headers.get(hdrs.UPGRADE):
        return await handler(request)
    with request.app[FOREGROUND].serving():
        return await handler(request)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connect to Redis (directly, through Sentinel, or to the embedded server started here
    when neither is configured) and bring its data layout up to date; close on exit."""
    settings = app[SETTINGS]
    embedded = EmbeddedRedis(settings.data_path) if settings.uses_embedded_redis else None
    supervision = None
    try:
        url = await embedded.start() if embedded else settings.redis_url
        if embedded is not None:  # restarted from its AOF whenever it exits on its own
            app[EMBEDDED] = embedded
            supervision = app[TASKS].start("embedded-redis", embedded.keep_running)
        client = await connect(
            url, sentinels=settings.sentinel_addresses, service=settings.redis_service
        )
        app[STORE] = store = Store(
            client,
            settings.key_prefix,
            min_replicas=settings.redis_min_replicas,
            wait_ms=settings.redis_wait_ms,
        )
        if settings.sentinel_addresses:  # a master that moves: its old connections dropped
            watch = app[TASKS].start("master-watch", lambda: follow_master(store))
        try:
            await ensure_schema(store, settings, app[CLOCK])
            yield
        finally:
            if settings.sentinel_addresses:
                await stop_task(watch)
            await store.close()
    finally:
        if supervision is not None:
            await stop_task(supervision)
        if embedded is not None:
            await embedded.stop()


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Sweep due timers (and the retention purge) for the life of the app."""
    store, settings, clock = app[STORE], app[SETTINGS], app[CLOCK]
    task = app[TASKS].start("timer-sweeper", lambda: sweep_forever(store, settings, clock))
    yield
    await stop_task(task)


async def wakeups_ctx(app: web.Application) -> AsyncIterator[None]:
    """Listen for wake-ups and coalesce queue broadcasts for the life of the app."""
    settings = app[SETTINGS]
    dispatcher = Dispatcher(
        app[STORE],
        app[HUB],
        app[CLOCK],
        phone_fallback=settings.phone_fallback,
        fallback_after_s=settings.fallback_thresholds,
        areas=settings.areas,
        foreground=app[FOREGROUND],
    )
    app[DISPATCHER] = dispatcher
    tasks = [
        app[TASKS].start("wakeup-listener", lambda: listen(dispatcher)),
        app[TASKS].start("queue-broadcasts", lambda: broadcast_queue_changes(dispatcher)),
    ]
    yield
    for task in tasks:
        await stop_task(task)


async def stats_push_ctx(app: web.Application) -> AsyncIterator[None]:
    """Push the live statistics to supervisors for the life of the app."""
    hub, store, settings, clock = app[HUB], app[STORE], app[SETTINGS], app[CLOCK]
    task = app[TASKS].start("stats-push", lambda: push_forever(hub, store, settings, clock))
    yield
    await stop_task(task)


async def leases_ctx(app: web.Application) -> AsyncIterator[None]:
    """Renew the presence leases of this instance's sockets for the life of the app."""
    hub, store, settings, clock = app[HUB], app[STORE], app[SETTINGS], app[CLOCK]
    task = app[TASKS].start("presence-leases", lambda: renew_forever(hub, store, settings, clock))
    yield
    await stop_task(task)


async def alerts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Escalate critical alarms (webhook, e-mail) and announce new referrals to their teams'
    webhooks for the life of the app, when configured."""
    settings = app[SETTINGS]
    if not (settings.alert_webhook_url or settings.smtp_url or settings.team_webhook_urls):
        yield
        return
    async with aiohttp.ClientSession() as http:
        escalator = Escalator(app[STORE], settings, app[CLOCK], http)
        task = app[TASKS].start("alarm-escalation", lambda: escalate_forever(escalator))
        yield
        await stop_task(task)


async def echo_peers_ctx(app: web.Application) -> AsyncIterator[None]:
    """Hold this instance's echo peers; close them all when the app shuts down."""
    settings = app[SETTINGS]
    peers = EchoPeers(
        limit=settings.connection_test_max,
        lifetime_s=settings.connection_test_s,
        ice_servers=settings.ice_server_list,
    )
    app[ECHO_PEERS] = peers
    yield
    await peers.close()
