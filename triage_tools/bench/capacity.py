"""Capacity: thousands of signed-in sockets, the server's memory, and the queue fan-out to
the officers still waiting."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from triage_client.client import ServiceClient
from triage_client.forms import SHORT_OUTCOME_FORM, SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_tools.bench.figures import rss_mb, summary_ms
from triage_tools.bench.harness import Bench, LiveSocket, bounded, log, own_objects_settled
from triage_tools.bench.latency import Staff


@dataclass
class Crowd:
    """Many signed-in sockets: officers with a waiting request each, and idle ones."""

    waiting: dict[str, LiveSocket]  # request id → its officer's socket
    idle: list[LiveSocket]

    @property
    def sockets(self) -> list[LiveSocket]:
        """Every socket of the crowd."""
        return [*self.waiting.values(), *self.idle]

    async def close(self) -> None:
        """Close every socket."""
        await bounded(200, (s.close() for s in self.sockets))


async def crowd_up(bench: Bench, sockets: int, waiting: int) -> Crowd:
    """`sockets` distinct sessions with a socket each; the first `waiting` have a request."""
    officers = await bench.sessions(await bench.users(Role.OFFICER, sockets, "crowd"))
    log(f"  {len(officers)} sessions open; queueing {waiting} requests")
    created = await bounded(
        8, (s.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM) for s in officers[:waiting])
    )
    log(f"  connecting {sockets} sockets")
    live = await bounded(50, (LiveSocket.open(s) for s in officers))
    return Crowd({r["id"]: s for r, s in zip(created, live, strict=False)}, live[waiting:])


async def fan_out_once(bench: Bench, crowd: Crowd, clinician: ServiceClient) -> list[float]:
    """A clinician takes the first request; seconds until each still-waiting officer knows."""
    for s in crowd.sockets:
        s.drain()
    started = time.perf_counter()
    taken = await clinician.request("POST", "/api/v1/queue/next")
    crowd.waiting.pop(taken["id"]).drain()
    left = len(crowd.waiting)

    def changed(m: dict[str, Any]) -> bool:
        return m.get("type") == "queue.changed" and m.get("waiting") == left

    arrivals = await asyncio.gather(
        *(s.arrival(changed, timeout=30) for s in crowd.waiting.values())
    )
    await clinician.request("POST", f"/api/v1/requests/{taken['id']}/outcome", SHORT_OUTCOME_FORM)
    await asyncio.sleep(0.5)
    return [a - started for a in arrivals]


async def measure_capacity(
    bench: Bench, staff: Staff, sockets: int, waiting: int, changes: int
) -> dict[str, Any]:
    """RSS with `sockets` signed-in sockets open (the clinicians' included), and the queue
    fan-out to `waiting` officers."""
    pid, clinician = bench.deployment.server_pid, staff.clinicians[0]
    before = rss_mb(pid)
    crowd = await crowd_up(bench, sockets - len(staff.clinician_sockets), waiting)
    try:
        await asyncio.sleep(1.0)
        with_sockets = rss_mb(pid)
        log(f"  {sockets} sockets open, server RSS {with_sockets} MiB; fanning out")
        deliveries: list[float] = []
        per_change = []
        with own_objects_settled():
            for _ in range(changes):
                times = await fan_out_once(bench, crowd, clinician)
                deliveries += times
                per_change.append(round(max(times) * 1000, 1))
        peak = max(with_sockets, rss_mb(pid))
    finally:
        await crowd.close()
    return {
        "sockets": sockets,
        "distinct_sessions": sockets,
        "mix": {
            "waiting_officers": waiting,
            "idle_officers": len(crowd.idle),
            "clinicians": len(staff.clinician_sockets),
        },
        "rss_mb": peak,
        "rss_before_sockets_mb": before,
        "per_socket_kb": round((with_sockets - before) * 1024 / sockets, 1),
        "fanout": {
            "waiting_officers": waiting,
            "changes": changes,
            **summary_ms(deliveries),
            "last_delivery_ms": per_change,
        },
    }
