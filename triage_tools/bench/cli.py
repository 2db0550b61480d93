"""Benchmark the service on this machine in one run; print one JSON object and a table.

Starts its own redis-server (AOF on, fsync always, as the embedded one) and a
`triage-service serve` subprocess on free loopback ports, creates accounts, then measures:
the floor (Redis PING, /healthz), notify and accept latency, lifecycle throughput, call set-up
between two headless aiortc peers, 2,000 signed-in sockets with the queue fan-out to 500
waiting officers, and what waiting for a replica (`redis_min_replicas` 0 and 1, a replica
started on a free port) adds to an accept and a lifecycle (`--only replication` runs that
phase alone). The JSON goes to stdout, the table and progress to stderr.

Latencies are measured in this process with `time.perf_counter()` from just before the HTTP
request is sent to the moment the socket's reader task sees the frame. Percentiles use the
nearest-rank method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage_tools.bench.calls import measure_call_setup
from triage_tools.bench.capacity import measure_capacity
from triage_tools.bench.deployment import Deployment
from triage_tools.bench.figures import rss_mb
from triage_tools.bench.harness import (
    Bench,
    Pool,
    log,
    measure_floor,
    others_cpu_pct,
    own_objects_settled,
    profiled,
)
from triage_tools.bench.latency import measure_latency, staff_up
from triage_tools.bench.replication import measure_replication
from triage_tools.bench.report import print_table, verdicts
from triage_tools.bench.throughput import cancel_waiting, measure_both_throughputs

ROOT = Path(__file__).resolve().parents[2]
STATS_BENCH = "triage_tools.bench.stats"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--redis-url", help="use this Redis (unique key prefix) instead of a private redis-server"
    )
    p.add_argument(
        "--appendfsync",
        choices=["always", "everysec", "no"],
        default="always",
        help="the private Redis's AOF fsync policy (the embedded default: always)",
    )
    p.add_argument("--samples", type=int, default=200, help="notify/accept rounds")
    p.add_argument("--waiting", type=int, default=200, help="requests waiting during them")
    p.add_argument("--clinicians", type=int, default=20, help="clinicians connected")
    p.add_argument("--pairs", type=int, default=20, help="officer/clinician pairs")
    p.add_argument("--throughput-seconds", type=float, default=10.0)
    p.add_argument("--calls", type=int, default=5, help="headless calls for call set-up")
    p.add_argument("--sockets", type=int, default=2000, help="signed-in sockets")
    p.add_argument("--fanout-officers", type=int, default=500)
    p.add_argument("--fanout-changes", type=int, default=5)
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["latency", "throughput", "calls", "capacity", "stats", "replication"],
    )
    p.add_argument("--only", choices=["replication"], help="run this phase alone")
    p.add_argument("--replication-samples", type=int, default=300, help="lifecycles per setting")
    p.add_argument(
        "--budget-s",
        type=float,
        default=290.0,
        help="stop the stats benchmark when the whole run reaches this many seconds",
    )
    p.add_argument("--json-out", type=Path, help="also write the JSON object to this file")
    p.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile the server per phase with py-spy into DIR (collapsed stacks)",
    )
    args = p.parse_args(argv)
    if args.pairs > args.clinicians:
        p.error("--pairs cannot exceed --clinicians")
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the deployment, run every phase, clean up; return the results."""
    started = time.perf_counter()
    deployment = Deployment(redis_url=args.redis_url, appendfsync=args.appendfsync)
    pool: Pool | None = None
    try:
        deployment.start_processes()
        await deployment.wait_ready()
        pool = Pool(deployment.base_url)
        bench = Bench(deployment, pool, args)
        await run_phases(bench)
        bench.results["elapsed_s"] = round(time.perf_counter() - started, 1)
        return bench.results
    finally:
        if pool is not None:
            await pool.close()
        await deployment.close()


async def run_phases(bench: Bench) -> None:
    """Every phase in order, each adding to `bench.results`."""
    args, r, pid = bench.args, bench.results, bench.deployment.server_pid
    r["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "redis": ("external" if args.redis_url else f"private, appendfsync {args.appendfsync}"),
        "server_rss_at_start_mb": rss_mb(pid),
        "other_processes_cpu_pct_at_start": await others_cpu_pct(bench, 2.0),
    }
    if r["machine"]["other_processes_cpu_pct_at_start"] > 20:
        log(
            f"warning: other processes use {r['machine']['other_processes_cpu_pct_at_start']}% "
            "CPU; the figures will be noisy"
        )
    if args.only == "replication":
        r["replication"] = await measure_replication(bench, args.replication_samples)
        r["targets"] = verdicts(r)
        return
    log("floor: Redis PING and /healthz")
    for _ in range(50):
        await bench.pool.healthz()
    with own_objects_settled():
        r["floor"] = await measure_floor(bench, 300)
    log(f"accounts and {args.waiting} waiting requests, {args.clinicians} clinicians")
    staff = await staff_up(bench, args.clinicians, args.waiting)
    if "latency" not in args.skip:
        log(f"notify and accept latency: {args.samples} rounds")
        with profiled(bench, "latency"), own_objects_settled():
            r.update(await measure_latency(bench, staff, args.samples))
    if "throughput" in args.skip:
        await cancel_waiting(bench, staff)
    else:
        await measure_both_throughputs(bench, staff)
    if "calls" not in args.skip:
        log(f"call set-up: {args.calls} headless aiortc calls")
        r["call_setup"] = await measure_call_setup(bench, args.calls)
    if "capacity" not in args.skip:
        log(f"capacity: {args.sockets} sockets, fan-out to {args.fanout_officers} officers")
        with profiled(bench, "capacity"):
            r["capacity"] = await measure_capacity(
                bench, staff, args.sockets, args.fanout_officers, args.fanout_changes
            )
    await staff.close()
    if "replication" not in args.skip:
        r["replication"] = await measure_replication(bench, args.replication_samples)
    r["floor_after"] = await measure_floor(bench, 100)
    budget = args.budget_s - (time.perf_counter() - bench.started)
    r["stats"] = None if "stats" in args.skip else await run_stats_bench(bench, max(60, budget))
    r["targets"] = verdicts(r)


async def run_stats_bench(bench: Bench, timeout_s: float) -> dict[str, Any]:
    """Run the statistics benchmark (`triage_tools/bench/stats.py`) against this run's Redis.

    It bulk-loads 100,000 requests, so a private Redis stops fsyncing every write first: the
    stats figure is about reading, not durability.
    """
    log(f"stats flatness: scripts/bench_stats (at most {timeout_s:.0f} s)")
    started = time.perf_counter()
    found = await _stats_subprocess(bench, timeout_s)
    return {
        **found,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "budget_s": round(timeout_s),
    }


async def _stats_subprocess(bench: Bench, timeout_s: float) -> dict[str, Any]:
    """The statistics benchmark's JSON object, or what went wrong."""
    if not bench.deployment.external_redis:
        await bench.store.configure("appendfsync", "no")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        STATS_BENCH,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TRIAGE_REDIS_URL": bench.deployment.redis_url},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"error": f"timed out after {timeout_s:.0f} s"}
    with contextlib.suppress(json.JSONDecodeError):
        found = json.loads(out)
        if isinstance(found, dict):
            return found
    return {
        "error": f"exit {process.returncode}, no JSON object",
        "stderr": err.decode(errors="replace")[-500:],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the JSON object (stdout) and the table (stderr)."""
    args = parse_args(argv)
    results = asyncio.run(run(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print_table(results)
