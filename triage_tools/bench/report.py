"""The benchmark's report: each target met or missed, and the readable table on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

# Each goal: (name, what it measures, goal, higher is better). The `_x_healthz` ones are
# ratios to the median GET /healthz round trip of the same run, measured as what it divides
# is (back to back for the CPU of back-to-back lifecycles, paced as the rounds for notify
# and accept), and
# the stats ones ratios of two stores measured interleaved, so a shared machine's speed,
# which drifts, weighs on both sides alike.
GOALS: tuple[tuple[str, str, float, bool], ...] = (
    ("fanout_p99_ms", "a queue change reaching the waiting officers, p99 (ms)", 200.0, False),
    ("stats_30d_ratio", "GET /stats?window=30d, 100,000 stored requests / 1,000", 1.2, False),
    ("stats_24h_ratio", "GET /stats?window=24h, 100,000 stored requests / 1,000", 1.2, False),
    ("notify_p99_x_healthz", "notify p99 with 200 waiting / paced /healthz p50", 5.0, False),
    ("accept_p99_x_healthz", "accept p99 with 200 waiting / paced /healthz p50", 5.0, False),
    ("cpu_per_lifecycle_x_healthz", "server CPU per lifecycle (ms) / /healthz p50", 4.0, False),
    ("stats_within_budget", "the statistics phase finished inside its budget (1 = yes)", 1.0, True),
    ("notify_p99_ms", "notify p99 (ms)", 20.0, False),
    ("accept_p99_ms", "accept p99 (ms)", 20.0, False),
    ("lifecycles_per_s", "lifecycles per second, queue empty", 200.0, True),
    ("rss_mb", "server RSS with the signed-in sockets (MiB)", 400.0, False),
)


def measured(results: dict[str, Any]) -> dict[str, float | None]:
    """Each goal's figure from one run's results (None where its phase did not run)."""
    healthz = results.get("floor", {}).get("healthz_ms", {}).get("p50")
    paced = results.get("paced_floor", {}).get("healthz_ms", {}).get("p50")
    stats = results.get("stats") or {}
    ratio = stats.get("ratio") or {}
    throughput = results.get("throughput", {})

    def per_healthz(value: float | None, floor: float | None = healthz) -> float | None:
        return None if value is None or not floor else round(value / floor, 2)

    return {
        "fanout_p99_ms": results.get("capacity", {}).get("fanout", {}).get("p99"),
        "stats_30d_ratio": ratio.get("30d"),
        "stats_24h_ratio": ratio.get("24h"),
        "notify_p99_x_healthz": per_healthz(results.get("notify", {}).get("p99"), paced),
        "accept_p99_x_healthz": per_healthz(results.get("accept", {}).get("p99"), paced),
        "cpu_per_lifecycle_x_healthz": per_healthz(throughput.get("server_cpu_ms_per_lifecycle")),
        "stats_within_budget": None if not stats else float("error" not in stats),
        "notify_p99_ms": results.get("notify", {}).get("p99"),
        "accept_p99_ms": results.get("accept", {}).get("p99"),
        "lifecycles_per_s": throughput.get("lifecycles_per_s"),
        "rss_mb": results.get("capacity", {}).get("rss_mb"),
    }


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """Each goal with the figure measured in this run and whether it is met."""
    found = measured(results)
    out: dict[str, Any] = {}
    for name, what, goal, higher_is_better in GOALS:
        value = found[name]
        met = None if value is None else (value >= goal if higher_is_better else value <= goal)
        out[name] = {
            "what": what,
            "goal": f"{'>=' if higher_is_better else '<='} {goal:g}",
            "measured": value,
            "met": met,
        }
    return out


def throughput_rows(t: dict[str, Any], floor: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """The lifecycle throughput's rows, and what a /healthz costs the server beside one."""
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
    healthz_cpu, healthz = t.get("server_cpu_ms_per_healthz"), floor.get("healthz_ms", {})
    if not healthz_cpu or not healthz:
        return
    yield (
        "server CPU per /healthz",
        f"{healthz_cpu:.3f} ms",
        f"a lifecycle is {t['server_cpu_ms_per_lifecycle'] / healthz_cpu:.1f} of them",
    )
    least, bare = t["lifecycle_floor_ms"], t["stack_floor"]
    yield (
        "a lifecycle at the least",
        f"{least['service_requests']:.2f} ms",
        f"x{least['service_requests'] / healthz['p50']:.2f} /healthz p50: 5 requests at a "
        f"/healthz's CPU and a second Redis round trip, {t['frames_per_lifecycle']} frames",
    )
    yield (
        "  ... on the bare stack",
        f"{least['bare_stack']:.2f} ms",
        f"x{least['bare_stack'] / healthz['p50']:.2f}: aiohttp POST with 2 Redis round trips "
        f"{bare['post_2_redis_us']} us, a frame {bare['frame_in_bursts_us']} us",
    )


def table_rows(r: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(figure, value, note) rows for the readable table."""
    floor = r.get("floor", {})
    if floor:
        yield ("Redis PING round trip", f"{floor['redis_ping_ms']['p50']:.3f} ms", "median")
        yield ("/healthz round trip", f"{floor['healthz_ms']['p50']:.3f} ms", "median")
    if "paced_floor" in r:
        paced = r["paced_floor"]
        yield (
            "/healthz round trip, paced",
            f"{paced['healthz_ms']['p50']:.3f} ms",
            f"median, each after {paced['pause_s'] * 1000:.0f} ms idle, as the rounds",
        )
    for key, label in (
        ("notify", "notify (create → clinician /ws)"),
        ("accept", "accept (accept → officer /ws)"),
    ):
        if key in r:
            f = r[key]
            yield (
                label,
                f"p50 {f['p50']:.2f} / p99 {f['p99']:.2f} ms",
                f"{f['ratio']['p50_to_healthz']}x / {f['ratio']['p99_to_healthz']}x paced "
                f"healthz ({f['ratio_back_to_back']['p99_to_healthz']}x back to back)",
            )
    if "throughput" in r:
        yield from throughput_rows(r["throughput"], floor)
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
    yield from stats_rows(r.get("stats") or {})


def stats_rows(stats: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """The statistics phase's rows: the ratios, and its time against its budget."""
    if "ratio" in stats:
        small, large = stats.get("requests", ["small", "large"])
        yield (
            f"GET /stats, {large:,} vs {small:,} requests",
            " / ".join(f"{w} x{v}" for w, v in stats["ratio"].items()),
            "ratio of medians",
        )
    if "elapsed_s" in stats:
        yield (
            "statistics phase",
            f"{stats['elapsed_s']} s",
            f"budget {stats['budget_s']} s (load {stats.get('load_s', '?')} s)",
        )


def print_table(results: dict[str, Any]) -> None:
    """The readable table, on stderr."""
    rows = list(table_rows(results))
    width = max(len(r[0]) for r in rows) + 2
    value_width = max(28, max(len(r[1]) for r in rows) + 2)
    print("", file=sys.stderr)
    for name, value, note in rows:
        print(f"{name:<{width}}{value:<{value_width}}{note}", file=sys.stderr)
    print("", file=sys.stderr)
    for v in results["targets"].values():
        mark = {True: "met", False: "MISSED", None: "not measured"}[v["met"]]
        print(
            f"{v['what']:<62}{v['measured']!s:>10}  goal {v['goal']:<7} {mark}",
            file=sys.stderr,
        )
