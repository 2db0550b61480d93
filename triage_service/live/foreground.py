"""What this instance is serving in the foreground: HTTP requests and wake-ups. Bulk work in
the background (the queue broadcast's hundreds of messages) gives way to them, so a request
arriving mid-broadcast is answered, and its news sent, before the broadcast goes on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

GIVE_WAY_MAX_S = 0.005  # the longest bulk work waits at one point: busy, it still goes on


class Foreground:
    """A count of the requests and wake-ups being served now."""

    def __init__(self, give_way_max_s: float = GIVE_WAY_MAX_S) -> None:
        self.give_way_max_s = give_way_max_s
        self.serving_now = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request or batch of wake-ups while it is served."""
        self.serving_now += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self.serving_now -= 1
            if not self.serving_now:
                self._quiet.set()

    async def give_way(self, budget_s: float) -> float:
        """Let whatever is ready run, then, while anything is being served, wait until it is
        answered, at most `give_way_max_s` and at most `budget_s`; the seconds waited."""
        await asyncio.sleep(0)
        if not self.serving_now or budget_s <= 0:
            return 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(self.give_way_max_s, budget_s)):
                await self._quiet.wait()
        return loop.time() - started
