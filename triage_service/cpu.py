"""CPU-heavy work (password hashing) off the event loop, in a pool as wide as the machine,
and not counted against the request's store deadline (which bounds waiting on Redis); nor
is waiting on an identity provider."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


# More threads than CPUs would only make every hash slower; the rest wait their turn.
_POOL = ThreadPoolExecutor(max_workers=_cpus(), thread_name_prefix="cpu")
_DEADLINE: ContextVar[asyncio.Timeout | None] = ContextVar("store_deadline", default=None)


@contextlib.asynccontextmanager
async def store_deadline(seconds: float) -> AsyncIterator[None]:
    """Bound the block's waiting on the store to `seconds`, excluding `run_cpu` work in it."""
    async with asyncio.timeout(seconds) as timeout:
        token = _DEADLINE.set(timeout)
        try:
            yield
        finally:
            _DEADLINE.reset(token)


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in the CPU pool, the store deadline paused while it waits and runs."""
    loop = asyncio.get_running_loop()
    call = functools.partial(fn, *args, **kwargs)
    async with deadline_paused():
        return await loop.run_in_executor(_POOL, call)


@contextlib.asynccontextmanager
async def deadline_paused() -> AsyncIterator[None]:
    """The store deadline paused for the block: it waits on something else (the CPU pool,
    an identity provider over HTTP, bounded by its own timeout)."""
    loop = asyncio.get_running_loop()
    timeout = _DEADLINE.get()
    when = timeout.when() if timeout is not None and not timeout.expired() else None
    if timeout is None or when is None:
        yield
        return
    remaining = when - loop.time()
    timeout.reschedule(None)
    try:
        yield
    finally:
        timeout.reschedule(loop.time() + remaining)
