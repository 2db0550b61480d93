"""The benchmark's report: each target met or missed, and the readable table on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

TARGETS = {
    "notify_p99_ms": 20.0,
    "accept_p99_ms": 20.0,
    "lifecycles_per_s": 200.0,
    "rss_mb": 400.0,
    "fanout_p99_ms": 500.0,
    "stats_ratio": 1.5,
}


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured figure and whether it is met."""
    measured = {
        "notify_p99_ms": results.get("notify", {}).get("p99"),
        "accept_p99_ms": results.get("accept", {}).get("p99"),
        "lifecycles_per_s": results.get("throughput", {}).get("lifecycles_per_s"),
        "rss_mb": results.get("capacity", {}).get("rss_mb"),
        "fanout_p99_ms": results.get("capacity", {}).get("fanout", {}).get("p99"),
        "stats_ratio": max((results.get("stats") or {}).get("ratio", {}).values(), default=None),
    }
    out: dict[str, Any] = {}
    for name, target in TARGETS.items():
        value = measured[name]
        higher_is_better = name == "lifecycles_per_s"
        met = None if value is None else (value >= target if higher_is_better else value <= target)
        out[name] = {"target": target, "measured": value, "met": met}
    return out


def table_rows(r: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(figure, value, note) rows for the readable table."""
    floor = r.get("floor", {})
    if floor:
        yield ("Redis PING round trip", f"{floor['redis_ping_ms']['p50']:.3f} ms", "median")
        yield ("/healthz round trip", f"{floor['healthz_ms']['p50']:.3f} ms", "median")
    for key, label in (
        ("notify", "notify (create → clinician /ws)"),
        ("accept", "accept (accept → officer /ws)"),
    ):
        if key in r:
            f = r[key]
            yield (
                label,
                f"p50 {f['p50']:.2f} / p99 {f['p99']:.2f} ms",
                f"{f['ratio']['p50_to_healthz']}x / {f['ratio']['p99_to_healthz']}x healthz",
            )
    if "throughput" in r:
        t = r["throughput"]
        busy = next(v for k, v in t.items() if k.startswith("with_"))
        for label, f in (("lifecycles per second", t), ("  ... with the queue full", busy)):
            yield (
                label,
                f"{f['lifecycles_per_s']}",
                f"{f['pairs']} pairs, {f['server_cpu_ms_per_lifecycle']} ms server CPU each, "
                f"notify right after {f['notify_right_after_ms']} ms, "
                f"host probe {f['host_probe_ms'][0]}/{f['host_probe_ms'][1]} ms; "
                f"cpu % server {f['cpu_pct']['server']} bench {f['cpu_pct']['bench']} "
                f"redis {f['cpu_pct']['redis']} others {f['cpu_pct']['other_processes']}",
            )
    if "call_setup" in r and "median_ms" in r["call_setup"]:
        yield ("call setup (accept → data channel)", f"{r['call_setup']['median_ms']} ms", "median")
    if "capacity" in r:
        cap = r["capacity"]
        yield (
            f"{cap['sockets']} sockets: server RSS",
            f"{cap['rss_mb']} MiB",
            f"{cap['per_socket_kb']} KiB per socket",
        )
        fan = cap["fanout"]
        yield (
            f"queue change → {fan['waiting_officers']} officers",
            f"p50 {fan['p50']:.1f} / p99 {fan['p99']:.1f} ms",
            f"{fan['changes']} changes",
        )
    for row in (r.get("replication") or {}).get("rows", []):
        yield (
            f"redis_min_replicas={row['min_replicas']}: accept / lifecycle",
            f"p50 {row['accept_ms']['p50']:.2f} / {row['lifecycle_ms']['p50']:.2f} ms",
            f"p99 {row['accept_ms']['p99']:.2f} / {row['lifecycle_ms']['p99']:.2f} ms, "
            f"{row['n']} in the service layer",
        )
    stats = r.get("stats") or {}
    if "ratio" in stats:
        small, large = stats.get("requests", ["small", "large"])
        yield (
            f"GET /stats, {large:,} vs {small:,} requests",
            " / ".join(f"{w} x{v}" for w, v in stats["ratio"].items()),
            "ratio of medians",
        )


def print_table(results: dict[str, Any]) -> None:
    """The readable table, on stderr."""
    rows = list(table_rows(results))
    width = max(len(r[0]) for r in rows) + 2
    print("", file=sys.stderr)
    for name, value, note in rows:
        print(f"{name:<{width}}{value:<28}{note}", file=sys.stderr)
    for name, v in results["targets"].items():
        mark = {True: "met", False: "MISSED", None: "not measured"}[v["met"]]
        print(f"target {name} {v['target']}: {v['measured']} {mark}", file=sys.stderr)
