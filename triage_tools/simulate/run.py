"""The live shift: officers arrive as a Poisson process, clinicians work, a progress bar."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from triage_client.client import ServiceClient
from triage_tools import shift_data as data
from triage_tools.simulate.accounts import usernames
from triage_tools.simulate.clinicians import Clinician
from triage_tools.simulate.officers import Officer
from triage_tools.simulate.shift import Shift, Sim, SimClock


async def arrivals(sim: Sim, officers: list[Officer], tasks: set[asyncio.Task[None]]) -> None:
    """Officers call in as a Poisson process until the shift ends."""
    rng, idle, number = sim.rng("arrivals"), list(officers), 0
    while True:
        await sim.clock.sleep(rng.expovariate(sim.shift.arrivals_per_hour / 60))
        if sim.ending:
            return
        if not idle:
            sim.tally.no_officer_free += 1
            continue
        number += 1
        officer = idle.pop(rng.randrange(len(idle)))
        sim.active += 1
        task = asyncio.create_task(incident(sim, officer, number, idle))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def incident(sim: Sim, officer: Officer, number: int, idle: list[Officer]) -> None:
    """One officer's incident; the officer is free again afterwards."""
    try:
        await officer.incident(number)
    finally:
        sim.active -= 1
        idle.append(officer)


def progress_line(sim: Sim) -> str:
    """The progress bar and the running counts."""
    total, now, t = sim.shift.minutes, sim.clock.minutes(), sim.tally
    done = min(1.0, now / total) if total else 1.0
    return (
        f"[{'#' * int(done * 30):<30}] {now:6.1f}/{total:.0f} min"
        f"{' (finishing)' if sim.ending else ''}  requests {t.created}  "
        f"waiting {t.waiting}  in session {t.in_session}  completed {t.completed}  "
        f"cancelled {t.cancelled}  expired {t.expired}"
    )


async def progress(sim: Sim) -> None:
    """A one-line progress bar on stderr (a line per 10 % when not a terminal)."""
    tty, last_decile = sys.stderr.isatty(), -1
    while True:
        decile = int(min(1.0, sim.clock.minutes() / (sim.shift.minutes or 1)) * 10)
        if tty:
            print("\r" + progress_line(sim), end="", file=sys.stderr, flush=True)
        elif decile > last_decile:
            last_decile = decile
            print(progress_line(sim), file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def signed_in(
    url: str, usernames: list[str], password: str
) -> AsyncIterator[list[ServiceClient]]:
    """Clients signed in as `usernames` with their live channel open; closed afterwards."""
    clients = [ServiceClient(url) for _ in usernames]
    try:
        gate = asyncio.Semaphore(4)  # argon2id: a few sign-ins at a time

        async def sign_in(client: ServiceClient, username: str) -> None:
            async with gate:
                await client.sign_in(username, password)
            await client.open_live()

        await asyncio.gather(*(sign_in(c, u) for c, u in zip(clients, usernames, strict=True)))
        yield clients
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def load_areas(client: ServiceClient) -> data.AreaMix:
    """The service's area directory as the officers' mix of places."""
    boards = (await client.request("GET", "/api/v1/areas"))["boards"]
    return data.area_mix(
        [(a["id"], a["name"], a.get("lat"), a.get("lon")) for b in boards for a in b["areas"]]
    )


async def run_shift(shift: Shift) -> dict[str, Any]:
    """Play one shift against the service at `shift.url`; return the summary."""
    sim = Sim(shift)
    names = usernames(shift)
    async with (
        signed_in(shift.url, names["officer"], shift.password) as officer_clients,
        signed_in(shift.url, names["clinician"], shift.password) as clinician_clients,
    ):
        sim.mix = await load_areas(officer_clients[0]) if officer_clients else sim.mix
        sim.clock = SimClock(shift.speed)  # start the clock once everyone is signed in
        officers = [Officer(sim, c, i) for i, c in enumerate(officer_clients)]
        clinicians = [Clinician(sim, c, i) for i, c in enumerate(clinician_clients)]
        incidents: set[asyncio.Task[None]] = set()
        bar = asyncio.create_task(progress(sim)) if shift.progress else None
        try:
            await asyncio.gather(
                arrivals(sim, officers, incidents), *(c.work() for c in clinicians)
            )
            if incidents:
                await asyncio.gather(*incidents)
        finally:
            if bar is not None:
                bar.cancel()
                await asyncio.wait({bar})
                print(("\r" if sys.stderr.isatty() else "") + progress_line(sim), file=sys.stderr)
    return sim.tally.summary(shift.speed)
