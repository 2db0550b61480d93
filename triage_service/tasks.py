"""Starting and stopping background tasks so that shutdown can never hang on one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

RECANCEL_S = 0.1


def start_task(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Run `work` as a named background task (stopped with `stop_task`)."""
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
