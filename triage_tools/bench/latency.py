"""Notify and accept latency: clinicians listening with requests waiting, one request at a
time created, accepted and completed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from triage_client.client import ServiceClient
from triage_client.forms import SHORT_OUTCOME_FORM, SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_tools.bench.figures import ratios, summary_ms
from triage_tools.bench.harness import Bench, LiveSocket, bounded, is_created, is_updated
from triage_tools.bench.listeners import Listeners

PAUSE_S = 0.06  # after a round, its coalesced queue broadcast goes out; the same before each


@dataclass
class Staff:
    """Signed-in clinicians with sockets, and officers with waiting requests and sockets."""

    clinicians: list[ServiceClient]
    clinician_sockets: list[LiveSocket]
    officer: ServiceClient
    officer_socket: LiveSocket
    waiting: list[tuple[ServiceClient, str]]
    waiting_sockets: Listeners  # in a process of their own, as on phones of their own

    async def close_officers(self) -> None:
        """Close the officers' sockets (the clinicians stay connected to the end)."""
        await self.officer_socket.close()
        await self.waiting_sockets.close()

    async def close(self) -> None:
        """Close every socket still open."""
        await self.close_officers()
        await asyncio.gather(*(s.close() for s in self.clinician_sockets))


async def staff_up(bench: Bench, clinicians: int, waiting: int) -> Staff:
    """Clinicians signed in, available and listening; `waiting` requests, each its officer's."""
    clinician_users = await bench.users(Role.CLINICIAN, clinicians, "clinician")
    officer_users = await bench.users(Role.OFFICER, waiting + 1, "officer")
    clinician_sessions = await bench.logins(clinician_users)
    officer = (await bench.logins(officer_users[:1]))[0]
    for s in clinician_sessions:
        await s.request("PUT", "/api/v1/availability", {"status": "available"})
    queue_officers = await bench.sessions(officer_users[1:])
    created = await bounded(
        8, (s.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM) for s in queue_officers)
    )
    staff = Staff(
        clinician_sessions,
        [await LiveSocket.open(s) for s in clinician_sessions],
        officer,
        await LiveSocket.open(officer),
        [(s, r["id"]) for s, r in zip(queue_officers, created, strict=True)],
        await Listeners.start(bench.pool.base_url, [s.token or "" for s in queue_officers]),
    )
    await asyncio.sleep(0.5)
    return staff


async def one_round(
    bench: Bench, staff: Staff, clinician: ServiceClient
) -> tuple[float, float, float]:
    """Create → every clinician notified → accept → officer told → outcome.

    Returns (first clinician notified, last clinician notified, officer told of accept).
    """
    for s in (*staff.clinician_sockets, staff.officer_socket):
        s.drain()
    sent = time.perf_counter()
    rid = (await staff.officer.request("POST", "/api/v1/requests", SHORT_REQUEST_FORM))["id"]
    arrivals = [await s.arrival(is_created(rid)) for s in staff.clinician_sockets]
    accepting = time.perf_counter()
    await clinician.request("POST", f"/api/v1/requests/{rid}/accept")
    told = await staff.officer_socket.arrival(is_updated(rid, "in_session"))
    await clinician.request("POST", f"/api/v1/requests/{rid}/outcome", SHORT_OUTCOME_FORM)
    await staff.officer_socket.arrival(is_updated(rid, "completed"))
    return min(arrivals) - sent, max(arrivals) - sent, told - accepting


async def measure_latency(bench: Bench, staff: Staff, samples: int) -> dict[str, Any]:
    """Notify and accept latency over `samples` rounds after a short warm-up, each round
    after a pause (the coalesced queue broadcast goes out meanwhile); first, as many
    `/healthz` round trips each after the same pause: the floor the rounds are divided by.

    A pause costs every step after it: here a trivial aiohttp request in one process took
    0.19 ms back to back and 0.93 ms after 60 ms idle (caches and the idle CPU to wake), so
    dividing paced rounds by the back-to-back floor (still reported) would count the pause
    as the service's own cost (docs/performance.md, ninth round)."""
    healthz = []
    for _ in range(samples):
        await asyncio.sleep(PAUSE_S)
        started = time.perf_counter()
        await bench.pool.healthz()
        healthz.append(time.perf_counter() - started)
    first, every, accept = [], [], []
    for i in range(samples + 10):
        clinician = staff.clinicians[i % len(staff.clinicians)]
        notified, all_notified, told = await one_round(bench, staff, clinician)
        if i >= 10:
            first.append(notified)
            every.append(all_notified)
            accept.append(told)
        await asyncio.sleep(PAUSE_S)
    floor = bench.results["floor"]
    paced = {**floor, "healthz_ms": summary_ms(healthz), "pause_s": PAUSE_S}
    notify = summary_ms(first)
    accepted = summary_ms(accept)
    return {
        "paced_floor": paced,
        "notify": {
            **notify,
            "waiting": len(staff.waiting),
            "clinicians": len(staff.clinicians),
            "all_clinicians": summary_ms(every),
            "ratio": ratios(notify, paced),
            "ratio_back_to_back": ratios(notify, floor),
        },
        "accept": {
            **accepted,
            "ratio": ratios(accepted, paced),
            "ratio_back_to_back": ratios(accepted, floor),
        },
    }
