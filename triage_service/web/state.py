"""Application state keys: everything an instance holds, reached only through these."""

from __future__ import annotations

import asyncio

from aiohttp import web

from triage_service.domain.times import Clock
from triage_service.live.hub import Hub
from triage_service.rtc.echo import EchoPeers
from triage_service.settings import Settings
from triage_service.store import EmbeddedRedis, Store
from triage_service.tasks import Supervisor

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
HUB = web.AppKey("hub", Hub)
TASKS = web.AppKey("tasks", Supervisor)
# Set when the instance starts draining (SIGTERM): /readyz answers 503 from then on.
DRAINING = web.AppKey("draining", asyncio.Event)
# The embedded redis-server, when this instance runs one (no Redis URL or Sentinel given).
EMBEDDED = web.AppKey("embedded_redis", EmbeddedRedis)
# The connection-test echo peers of this instance, closed when it stops.
ECHO_PEERS = web.AppKey("echo_peers", EchoPeers)
