"""Time as the service keeps it: epoch milliseconds in UTC, and the clock that gives them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import overload

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, UTC."""
    return time.time_ns() // 1_000_000


@overload
def to_datetime(ms: int) -> datetime: ...
@overload
def to_datetime(ms: str | int | None) -> datetime | None: ...
def to_datetime(ms: str | int | None) -> datetime | None:
    """Epoch milliseconds (as stored) to an aware UTC datetime (None for none)."""
    if ms in (None, ""):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
