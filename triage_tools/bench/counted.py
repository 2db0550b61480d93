"""`triage-service` with counters, run by `triage_tools.bench.counts` in place of the plain
command: between SIGUSR1 and SIGUSR2 it counts Redis round trips and commands and WebSocket
frames sent (each by the task that sent them: a background task by its name, HTTP requests
as `requests`), the Python calls made (cProfile), the CPU used and the garbage collections,
and on SIGUSR2 writes them as JSON to the file named by BENCH_COUNT_OUT.

Counts, unlike times, do not depend on how busy the machine is.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import os
import pstats
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import redis.asyncio.connection as connection
from aiohttp import web_ws

OUT_ENV = "BENCH_COUNT_OUT"
PROFILES_ENV = "BENCH_COUNT_PROFILES"  # a directory: each count's cProfile is kept there


class Counters:
    """What the server did while counting."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.on = False
        self.by: Counter[str] = Counter()
        self.profile = cProfile.Profile()
        self.cpu_started = 0.0

    def count(self, what: str, amount: int = 1) -> None:
        """Add `amount` to `what` for the task running now, while counting."""
        if self.on:
            self.by[f"{what}:{_task_kind()}"] += amount

    def start(self, _signal: int, _frame: FrameType | None) -> None:
        """SIGUSR1: start counting from zero."""
        self.by.clear()
        self.profile = cProfile.Profile()
        self.cpu_started = time.process_time()
        self.on = True
        self.profile.enable()

    def stop(self, _signal: int, _frame: FrameType | None) -> None:
        """SIGUSR2: stop counting and write what was counted."""
        self.profile.disable()
        self.on = False
        cpu_s = time.process_time() - self.cpu_started
        stats = pstats.Stats(self.profile).stats  # type: ignore[attr-defined]
        calls = sum(row[1] for row in stats.values())
        python = sum(row[1] for key, row in stats.items() if key[0] != "~")
        found: dict[str, Any] = {
            "counts": dict(sorted(self.by.items())),
            "python_calls": calls,
            "python_calls_not_builtin": python,
            "cpu_ms": round(cpu_s * 1000, 2),
        }
        if keep := os.environ.get(PROFILES_ENV):
            self.profile.dump_stats(Path(keep) / f"{time.time_ns()}.prof")
        self.out.write_text(json.dumps(found))

    def collected(self, phase: str, info: dict[str, int]) -> None:
        """A garbage collection (gc.callbacks): counted by generation."""
        if phase == "stop":
            self.count(f"gc_gen{info['generation']}")


def _task_kind() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "outside"
    name = task.get_name() if task else "outside"
    return "requests" if name.startswith("Task-") else name


def install(counters: Counters) -> None:
    """Count round trips, commands and frames sent, and collections, into `counters`."""
    send = connection.AbstractConnection.send_packed_command
    pack = connection.AbstractConnection.pack_command
    send_str = web_ws.WebSocketResponse.send_str

    async def counted_send(
        self: connection.AbstractConnection,
        command: bytes | str | Iterable[bytes],
        check_health: bool = True,
    ) -> None:
        counters.count("round_trips")
        await send(self, command, check_health)

    def counted_pack(self: connection.AbstractConnection, *args: Any) -> list[bytes]:
        counters.count("commands")
        return pack(self, *args)

    async def counted_send_str(
        self: web_ws.WebSocketResponse, data: str, compress: int | None = None
    ) -> None:
        counters.count("frames")
        counters.count("frame_bytes", len(data))
        await send_str(self, data, compress)

    connection.AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    connection.AbstractConnection.pack_command = counted_pack  # type: ignore[method-assign]
    web_ws.WebSocketResponse.send_str = counted_send_str  # type: ignore[method-assign,assignment]
    gc.callbacks.append(counters.collected)
    signal.signal(signal.SIGUSR1, counters.start)
    signal.signal(signal.SIGUSR2, counters.stop)


def main() -> None:
    """`python -m triage_tools.bench.counted serve ...`: the service, counted."""
    install(Counters(Path(os.environ[OUT_ENV])))
    from triage_service.cli import main as service

    service(sys.argv[1:])


if __name__ == "__main__":
    main()
