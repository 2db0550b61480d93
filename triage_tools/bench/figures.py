"""The benchmark's arithmetic and process readings: percentiles, ratios, CPU and RSS."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) by the nearest-rank method: a value that occurred."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds, with the sample count."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
    }


def ratios(latency: dict[str, float], floor: dict[str, Any]) -> dict[str, float]:
    """Each latency percentile divided by the median Redis and /healthz round trips."""
    redis_ms, healthz_ms = floor["redis_ping_ms"]["p50"], floor["healthz_ms"]["p50"]
    return {
        f"{q}_to_{name}": round(latency[q] / base, 1)
        for q in ("p50", "p99")
        for name, base in (("redis", redis_ms), ("healthz", healthz_ms))
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds used so far by process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, every process)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for pid {pid}")


def host_probe_ms() -> float:
    """CPU time of a fixed pure-Python loop: how fast this shared machine is just now (the
    same build's throughput moves with it)."""
    started, total = time.process_time(), 0
    for i in range(1_000_000):
        total += i * i
    return round((time.process_time() - started) * 1000, 1)
