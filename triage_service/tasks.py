"""Starting, supervising and stopping background tasks: a loop that dies is logged and
restarted, and shutdown can never hang on one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)
RECANCEL_S = 0.1

Work = Callable[[], Coroutine[Any, Any, None]]


def start_task(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Run `work` once as a named background task (stopped with `stop_task`)."""
    return asyncio.create_task(work, name=name)


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it ends, cancelling again if a cancellation was lost.

    On Python 3.11 `asyncio.wait_for` (which redis-py uses for socket writes) drops a
    cancellation that arrives just as the write completes; the task then carries on, and a
    single `cancel()` followed by `await task` would wait forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_S)
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Supervisor:
    """Runs background loops for the life of the app, restarting any that raises.

    A death is logged with its traceback and the loop restarted after a back-off that
    doubles with each recent death; a loop that died `limit` times within `window_s`
    is reported as failing (health answers degraded) until it stays up.
    """

    def __init__(
        self,
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        window_s: float = 60.0,
        limit: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.window_s = window_s
        self.limit = limit
        self.clock = clock
        self.restarts: dict[str, int] = {}
        self._deaths: dict[str, deque[float]] = {}

    def start(self, name: str, work: Work) -> asyncio.Task[None]:
        """Run `work()` as the named task, calling it again each time it raises."""
        self.restarts.setdefault(name, 0)
        self._deaths.setdefault(name, deque())
        return asyncio.create_task(self._supervise(name, work), name=name)

    def failing(self) -> list[str]:
        """Names of the tasks that died at least `limit` times within the last `window_s`."""
        return sorted(name for name in self._deaths if self._recent(name) >= self.limit)

    async def _supervise(self, name: str, work: Work) -> None:
        while True:
            try:
                await work()
            except Exception:
                delay = self._died(name)
                log.exception("background task %s died; restarting in %.1f s", name, delay)
            else:
                log.info("background task %s ended", name)
                return
            await asyncio.sleep(delay)
            self.restarts[name] += 1

    def _died(self, name: str) -> float:
        """Record a death; return the back-off before the restart."""
        self._deaths[name].append(self.clock())
        recent = self._recent(name)
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (recent - 1)))

    def _recent(self, name: str) -> int:
        deaths, since = self._deaths[name], self.clock() - self.window_s
        while deaths and deaths[0] < since:
            deaths.popleft()
        return len(deaths)
