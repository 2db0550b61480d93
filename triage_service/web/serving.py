"""Running an instance until it is told to stop, and stopping it so nobody notices.

On SIGTERM the instance drains: /readyz answers 503 for `drain_s` while everything else is
still served, so the load balancer stops sending it new work; then it stops accepting
connections, closes its live sockets with 1012 "service restart" (the pages reconnect, to
another instance), lets requests in flight finish (up to `shutdown_timeout_s`) and stops its
background work. SIGINT (Ctrl-C) does the same without the wait.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
from collections.abc import Callable

from aiohttp import web

from triage_service.settings import Settings
from triage_service.web.access import access_log_options
from triage_service.web.app import server_options
from triage_service.web.protocol import GuardedRunner
from triage_service.web.state import DRAINING

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The youngest generation's collection threshold once serving (CPython's default is 700).
# Almost nothing the service allocates per request is cyclic garbage (counted: 32 objects
# freed by 52 collections over 100 lifecycles), so a young collection is nearly pure cost;
# ten times rarer, and none over 100 lifecycles, the longest pause seen went from 6.6 ms
# to 1.2 ms (docs/performance.md).
GC_YOUNG_THRESHOLD = 7000


async def serve_until_stopped(
    app: web.Application,
    settings: Settings,
    *,
    ssl_context: ssl.SSLContext | None = None,
    announce: Callable[[], None] = lambda: None,
) -> None:
    """Start `app` on the configured address, serve until SIGTERM or SIGINT, then drain
    and stop."""
    runner = GuardedRunner(
        app,
        settings,
        shutdown_timeout=settings.shutdown_timeout_s,
        keepalive_timeout=server_options(settings)["keepalive_timeout"],
        **access_log_options(settings),
    )
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[signal.Signals] = loop.create_future()

    def received(sig: signal.Signals) -> None:
        if not stop.done():  # later signals are ignored: the stop under way goes on
            stop.set_result(sig)

    for sig in SIGNALS:
        loop.add_signal_handler(sig, received, sig)
    try:
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.host, settings.port, ssl_context=ssl_context)
            await site.start()
            settle_memory()
            announce()
            await _drain(app, settings, await stop)
        finally:
            await runner.cleanup()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
    log.info("stopped")


def settle_memory() -> None:
    """Once started: what start-up built (routes, templates, schemas, the settings) is kept
    out of every later collection (`gc.freeze`), so a full collection scans only what
    serving made, and young collections run ten times less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


async def _drain(app: web.Application, settings: Settings, received: signal.Signals) -> None:
    """Answer /readyz with 503 (for `drain_s` after a SIGTERM) before stopping."""
    app[DRAINING].set()
    if received == signal.SIGTERM and settings.drain_s:
        log.info("SIGTERM: draining (/readyz answers 503) for %.1f s", settings.drain_s)
        await asyncio.sleep(settings.drain_s)
    log.info("stopping: no new connections, live sockets told to reconnect elsewhere")
