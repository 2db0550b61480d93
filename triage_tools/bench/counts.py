"""Count what the server does per operation, not how long it takes: `scripts/bench_counts`.

Starts the benchmark's deployment with the server under `triage_tools.bench.counted`, sets
up the latency phase's scene (20 clinicians listening, `--waiting` requests waiting, each
with its officer's socket), and counts, per operation: Redis round trips and commands and
WebSocket frames (by the task that sent them: `requests` for HTTP requests, the background
tasks by name), Python calls, the server's CPU and its garbage collections. The operations:
`GET /healthz`; one second of the queue waiting untouched (the timer sweep); one notify and
accept round (create, accept, outcome, with a pause for the queue broadcast); and, with the
queue emptied, 20 officer/clinician pairs running a whole lifecycle at once (create, accept,
two messages, outcome). Prints one JSON object. CPU times depend on the machine's load; the
counts do not (but for the queue broadcasts, whose number follows the timing).

    scripts/bench_counts [--waiting 200] [--rounds 40]

With BENCH_COUNT_PROFILES=DIR each counted operation's cProfile is also kept in DIR (one
`.prof` file each, in the order above), to be read with `pstats`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from triage_client.client import ServiceClient
from triage_client.forms import SHORT_OUTCOME_FORM, SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_tools.bench.counted import OUT_ENV
from triage_tools.bench.deployment import Deployment
from triage_tools.bench.harness import Bench, LiveSocket, Pool, log
from triage_tools.bench.latency import one_round, staff_up
from triage_tools.bench.throughput import cancel_waiting


async def counted(
    bench: Bench, out: Path, times: int, operation: Callable[[int], Awaitable[None]]
) -> dict[str, Any]:
    """Run `operation` `times` times with the server counting; what it counted, per time."""
    pid = bench.deployment.server_pid
    out.unlink(missing_ok=True)
    await asyncio.sleep(0.3)  # what came before settles
    os.kill(pid, signal.SIGUSR1)
    await asyncio.sleep(0.05)
    for i in range(times):
        await operation(i)
    await asyncio.sleep(0.3)  # the wake-ups and broadcasts it caused are served
    os.kill(pid, signal.SIGUSR2)
    for _ in range(200):
        if out.exists() and out.stat().st_size:
            break
        await asyncio.sleep(0.05)
    found: dict[str, Any] = json.loads(out.read_text())
    return {
        "times": times,
        "counts": {k: round(v / times, 1) for k, v in found["counts"].items()},
        "python_calls": round(found["python_calls"] / times),
        "python_calls_not_builtin": round(found["python_calls_not_builtin"] / times),
        "cpu_ms_profiled": round(found["cpu_ms"] / times, 2),
    }


async def lifecycle(officer: ServiceClient, clinician: ServiceClient) -> None:
    """One whole lifecycle, as the throughput phase runs it."""
    rid = (await officer.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM))["id"]
    path = f"/api/v1/requests/{rid}"
    await clinician.request("POST", f"{path}/accept")
    text = {"text": "We are at the bus station; she is calmer now."}
    await officer.request("POST", f"{path}/messages", text)
    await clinician.request("POST", f"{path}/messages", {"text": "Thanks. Can I speak with her?"})
    await clinician.request("POST", f"{path}/outcome", SHORT_OUTCOME_FORM)


async def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Every counted operation against one deployment."""
    os.environ[OUT_ENV] = str(out)
    os.environ["BENCH_SERVER_CMD"] = f"{sys.executable} -m triage_tools.bench.counted"
    deployment = Deployment(redis_url=None)
    pool = Pool(deployment.base_url)
    results: dict[str, Any] = {}
    try:
        deployment.start_processes()
        await deployment.wait_ready()
        bench = Bench(deployment, pool, argparse.Namespace(py_spy=None))
        for _ in range(50):
            await pool.healthz()
        log("counting: /healthz")
        results["healthz"] = await counted(bench, out, 200, lambda _: pool.healthz())
        staff = await staff_up(bench, 20, args.waiting)
        for i in range(10):
            await one_round(bench, staff, staff.clinicians[i % 20])
        log(f"counting: a second with {args.waiting} waiting")
        results[f"one_second_{args.waiting}_waiting"] = await counted(
            bench, out, 5, lambda _: asyncio.sleep(1.0)
        )

        async def round_(i: int) -> None:
            await one_round(bench, staff, staff.clinicians[i % 20])
            await asyncio.sleep(0.1)

        log(f"counting: {args.rounds} notify/accept rounds")
        results[f"round_{args.waiting}_waiting"] = await counted(bench, out, args.rounds, round_)
        # The pairs' officers are signed in as the capacity phase signs its sockets in (the
        # login view's own session, without 20 more argon2id verifications).
        officers = await bench.sessions(await bench.users(Role.OFFICER, 20, "pair-officer"))
        sockets = [await LiveSocket.open(s, keep=False) for s in officers]
        await cancel_waiting(bench, staff)
        for s in (*staff.clinician_sockets,):
            s.keep = False
        for officer, clinician in zip(officers, staff.clinicians, strict=True):
            await lifecycle(officer, clinician)

        async def twenty(_: int) -> None:
            together = zip(officers, staff.clinicians, strict=True)
            await asyncio.gather(*(lifecycle(o, c) for o, c in together))

        batches = max(1, args.rounds // 10)
        log(f"counting: {batches} x 20 lifecycles at once")
        per_batch = await counted(bench, out, batches, twenty)
        results["lifecycle_20_pairs"] = {
            "counts": {k: round(v / 20, 1) for k, v in per_batch["counts"].items()},
            "python_calls": round(per_batch["python_calls"] / 20),
            "python_calls_not_builtin": round(per_batch["python_calls_not_builtin"] / 20),
            "cpu_ms_profiled": round(per_batch["cpu_ms_profiled"] / 20, 2),
        }
        await asyncio.gather(*(s.close() for s in sockets))
        await staff.close()
        return results
    finally:
        await pool.close()
        await deployment.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Count, print the JSON object."""
    p = argparse.ArgumentParser(prog="scripts/bench_counts", description=__doc__.split("\n\n")[0])
    p.add_argument("--waiting", type=int, default=200, help="requests waiting in the rounds")
    p.add_argument("--rounds", type=int, default=40, help="notify/accept rounds counted")
    args = p.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="triage-counts-") as tmp:
        results = asyncio.run(run(args, Path(tmp) / "counted.json"))
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
