"""Application state keys: everything an instance holds, reached only through these."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from .settings import Settings
from .store import Store

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, UTC."""
    return time.time_ns() // 1_000_000


SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
