"""Lifecycle throughput: officer/clinician pairs running whole lifecycles back to back."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

from triage_client.client import ServiceClient
from triage_client.forms import SHORT_OUTCOME_FORM, SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_tools.bench.figures import (
    cpu_seconds,
    host_probe_ms,
    machine_cpu_seconds,
    summary_ms,
)
from triage_tools.bench.harness import (
    Bench,
    LiveSocket,
    bounded,
    is_created,
    log,
    profiled,
)
from triage_tools.bench.latency import Staff
from triage_tools.bench.stack_floor import run as stack_floor


async def lifecycle_loop(
    bench: Bench,
    officer: ServiceClient,
    clinician: ServiceClient,
    until: float,
    done: list[tuple[float, float]],
) -> None:
    """Run full lifecycles back to back until `until`, recording (start, end) of each."""
    while (started := time.perf_counter()) < until:
        rid = (await officer.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM))["id"]
        await clinician.request("POST", f"/api/v1/requests/{rid}/accept")
        await officer.request(
            "POST",
            f"/api/v1/requests/{rid}/messages",
            {"text": "We are at the bus station; she is calmer now."},
        )
        await clinician.request(
            "POST",
            f"/api/v1/requests/{rid}/messages",
            {"text": "Thanks. Can I speak with her?"},
        )
        await clinician.request("POST", f"/api/v1/requests/{rid}/outcome", SHORT_OUTCOME_FORM)
        done.append((started, time.perf_counter()))


@dataclass
class Pairs:
    """Officer/clinician pairs, every one signed in with a socket open."""

    officers: list[ServiceClient]
    clinicians: list[ServiceClient]
    sockets: list[LiveSocket]


async def pair_up(bench: Bench, staff: Staff, pairs: int) -> Pairs:
    """Sign in `pairs` officers (with sockets) to work with the first `pairs` clinicians."""
    officers = await bench.logins(await bench.users(Role.OFFICER, pairs, "pair-officer"))
    for s in (*staff.clinician_sockets, staff.officer_socket):
        s.keep = False
    return Pairs(
        officers,
        staff.clinicians[:pairs],
        [await LiveSocket.open(s, keep=False) for s in officers],
    )


async def live_lag_ms(bench: Bench, staff: Staff) -> float:
    """Notify latency of one new request: shows whether the live channel kept up."""
    listener = staff.clinician_sockets[0]
    listener.keep = True
    listener.drain()
    sent = time.perf_counter()
    rid = (await staff.officer.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM))["id"]
    arrived = await listener.arrival(is_created(rid), timeout=120)
    listener.keep = False
    await staff.officer.request("POST", f"/api/v1/requests/{rid}/cancel")
    return round((arrived - sent) * 1000, 1)


async def measure_throughput(
    bench: Bench, staff: Staff, pairs: Pairs, seconds: float
) -> dict[str, Any]:
    """Full lifecycles per second, every pair working back to back, after a 2 s warm-up;
    then how late the live channel is (a backlog of wake-ups would show here)."""
    warmup = 2.0
    done: list[tuple[float, float]] = []
    pids = [bench.deployment.server_pid, *filter(None, [bench.deployment.redis_pid])]

    sockets = [*staff.clinician_sockets, staff.officer_socket, *pairs.sockets]

    def cpu_now() -> list[float]:
        return [*map(cpu_seconds, pids), time.process_time(), machine_cpu_seconds()]

    probe_before = host_probe_ms()
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)
    loops = [
        asyncio.create_task(lifecycle_loop(bench, o, c, window[1], done))
        for o, c in zip(pairs.officers, pairs.clinicians, strict=True)
    ]
    await asyncio.sleep(warmup)
    cpu_before, frames_before = cpu_now(), sum(s.frames for s in sockets)
    await asyncio.gather(*loops)
    elapsed = time.perf_counter() - window[0]
    used = [100 * (a - b) / elapsed for a, b in zip(cpu_now(), cpu_before, strict=True)]
    frames = sum(s.frames for s in sockets) - frames_before
    counted = [end - begin for begin, end in done if window[0] <= end <= window[1]]
    lag = await live_lag_ms(bench, staff)
    return {
        "pairs": len(pairs.officers),
        "seconds": round(elapsed, 2),
        "notify_right_after_ms": lag,
        "host_probe_ms": [probe_before, host_probe_ms()],
        "lifecycles": len(counted),
        "lifecycles_per_s": round(len(counted) / seconds, 1),
        "server_cpu_ms_per_lifecycle": round(10 * used[0] * elapsed / max(1, len(counted)), 2),
        "http_requests_per_s": round(5 * len(counted) / seconds, 1),
        # Received by the clinicians', the officer's and the pairs' sockets (not the waiting
        # officers', read by their own process).
        "frames_per_lifecycle": round(frames / max(1, len(counted)), 1),
        "lifecycle_ms": summary_ms(counted),
        "per_second": [
            sum(1 for _, end in done if window[0] + i <= end < window[0] + i + 1)
            for i in range(math.ceil(seconds))
        ],
        "cpu_pct": {
            "server": round(used[0]),
            "redis": round(used[1]) if len(pids) > 1 else 0,
            "bench": round(used[-2]),
            "other_processes": max(0, round(used[-1] - sum(used[:-1]))),
        },
    }


async def healthz_cpu_ms(bench: Bench, times: int = 3000) -> float:
    """The server's CPU for one GET /healthz, back to back (the HTTP handling and middlewares
    every request has, and a Redis PING), in the same scene as the lifecycles; `times` of
    them so that the kernel's 10 ms ticks are small beside the whole."""
    for _ in range(50):
        await bench.pool.healthz()
    before = cpu_seconds(bench.deployment.server_pid)
    for _ in range(times):
        await bench.pool.healthz()
    return round((cpu_seconds(bench.deployment.server_pid) - before) * 1000 / times, 3)


async def measure_both_throughputs(bench: Bench, staff: Staff) -> None:
    """Lifecycle throughput with the latency phases' requests still waiting, then without."""
    args = bench.args
    pairs = await pair_up(bench, staff, args.pairs)
    log(
        f"lifecycle throughput: {args.pairs} pairs for {args.throughput_seconds:.0f} s, "
        f"{args.waiting} requests waiting"
    )
    busy_queue = await measure_throughput(bench, staff, pairs, args.throughput_seconds)
    await cancel_waiting(bench, staff)
    log(f"lifecycle throughput: {args.pairs} pairs for {args.throughput_seconds:.0f} s")
    with profiled(bench, "throughput"):
        bench.results["throughput"] = await measure_throughput(
            bench, staff, pairs, args.throughput_seconds
        )
    bench.results["throughput"][f"with_{args.waiting}_waiting"] = busy_queue
    t = bench.results["throughput"]
    t["server_cpu_ms_per_healthz"] = await healthz_cpu_ms(bench)
    log("the bare stack's floor: aiohttp and redis-py without the service")
    t["stack_floor"] = await stack_floor(bench.deployment.redis_url)
    t["lifecycle_floor_ms"] = lifecycle_floor_ms(t)
    await asyncio.gather(*(s.close() for s in pairs.sockets))


def lifecycle_floor_ms(t: dict[str, Any]) -> dict[str, float]:
    """The least a lifecycle (5 requests, each with at least two Redis round trips: its
    session and its change, and the frames its sockets received) can cost the server: on the
    bare stack, and with each request costing what a /healthz costs the service (its
    middlewares, one round trip) and its second round trip."""
    bare = t["stack_floor"]
    frames_ms = t["frames_per_lifecycle"] * bare["frame_in_bursts_us"] / 1000
    second_trip_ms = (bare["post_2_redis_us"] - bare["post_1_redis_us"]) / 1000
    return {
        "bare_stack": round(5 * bare["post_2_redis_us"] / 1000 + frames_ms, 3),
        "service_requests": round(
            5 * (t["server_cpu_ms_per_healthz"] + second_trip_ms) + frames_ms, 3
        ),
    }


async def cancel_waiting(bench: Bench, staff: Staff) -> None:
    """Withdraw the latency phases' waiting requests and close their sockets."""
    await bounded(
        8,
        (s.request("POST", f"/api/v1/requests/{rid}/cancel") for s, rid in staff.waiting),
    )
    await staff.close_officers()
