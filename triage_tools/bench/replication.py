"""What waiting for a replica costs: accept and whole-lifecycle latency with
`redis_min_replicas` 0 and 1, through the service layer on the benchmark's Redis and a
replica the benchmark starts on a free port (each state change then carries a `WAIT`)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

from triage_client.forms import OUTCOME_FORM, request_form
from triage_service.domain.codes import Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.store.embedded import find_redis_server
from triage_service.store.store import Store, connect
from triage_tools.bench.deployment import _stop, free_port
from triage_tools.bench.figures import percentile
from triage_tools.bench.harness import Bench, log

SETTINGS_TRIED = (0, 1)
WARM_UP = 20


def start_replica(master_url: str, directory: str) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server replicating `master_url` (no persistence of its own); it and its port."""
    where = urlsplit(master_url)
    port = free_port()
    master = [where.hostname or "127.0.0.1", str(where.port or 6379)]
    files = ["--dir", directory, "--logfile", f"{directory}/replica.log"]
    options = ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--replicaof", *master]
    process = subprocess.Popen(
        [find_redis_server(), "--port", str(port), *options, *files], stdout=subprocess.DEVNULL
    )
    return process, port


async def until_in_sync(store: Store, timeout_s: float = 30.0) -> None:
    """Wait until a write of the master's is confirmed by a replica (WAIT)."""
    deadline = time.monotonic() + timeout_s
    while not (
        await store.probe(now_ms=_now()) is None and await store.wait_for_replicas(1, 100) >= 1
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark's replica did not come in sync")
        await asyncio.sleep(0.1)


def figures(seconds: list[float]) -> dict[str, float]:
    """Median and p99 in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50": round(percentile(ms, 50), 3), "p99": round(percentile(ms, 99), 3)}


class Rounds:
    """Lifecycles (create, accept, outcome) on one store, timed."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.officer = User("bench-off", "bench-off", "Bench Officer", Role.OFFICER)
        self.clinician = User("bench-clin", "bench-clin", "Bench Clinician", Role.CLINICIAN)
        self.form = RequestForm.model_validate(request_form())
        self.outcome = OutcomeForm.model_validate(OUTCOME_FORM)
        self.accepts: list[float] = []
        self.lifecycles: list[float] = []

    async def one(self) -> None:
        """One lifecycle; its accept and its whole time are recorded."""
        store, clinician = self.store, self.clinician
        started = time.perf_counter()
        record, _ = await lifecycle.create_request(
            store, self.settings, self.officer, self.form, now_ms=_now(), idempotency_key=None
        )
        before_accept = time.perf_counter()
        await lifecycle.accept_request(store, clinician, record.id, now_ms=_now())
        self.accepts.append(time.perf_counter() - before_accept)
        await lifecycle.file_outcome(
            store, self.settings, clinician, record.id, self.outcome, now_ms=_now()
        )
        self.lifecycles.append(time.perf_counter() - started)

    def row(self) -> dict[str, Any]:
        """The setting's figures."""
        return {
            "min_replicas": self.store.min_replicas,
            "n": len(self.accepts),
            "accept_ms": figures(self.accepts),
            "lifecycle_ms": figures(self.lifecycles),
        }


def _now() -> int:
    return time.time_ns() // 1_000_000


async def compare(stores: list[Store], settings: Settings, samples: int) -> list[dict[str, Any]]:
    """After a warm-up, one lifecycle per setting in turn, `samples` times (so load from
    elsewhere on the machine falls on every setting alike); one row per setting."""
    runs = [Rounds(store, settings) for store in stores]
    for run in runs:
        for _ in range(WARM_UP):
            await run.one()
        run.accepts.clear()
        run.lifecycles.clear()
    for _ in range(samples):
        for run in runs:
            await run.one()
    return [run.row() for run in runs]


async def measure_replication(bench: Bench, samples: int) -> dict[str, Any]:
    """One row per `redis_min_replicas` setting (0, 1), and the latency WAIT adds."""
    url, prefix = bench.deployment.redis_url, bench.deployment.prefix
    settings = Settings(redis_url=url, key_prefix=prefix)
    process, _port = start_replica(url, str(bench.deployment.tmp))
    try:
        await until_in_sync(bench.store)
        log(f"replication: {samples} lifecycles each with redis_min_replicas {SETTINGS_TRIED}")
        stores = [
            Store(await connect(url), prefix, min_replicas=wanted, wait_ms=1000)
            for wanted in SETTINGS_TRIED
        ]
        try:
            rows = await compare(stores, settings, samples)
        finally:
            for store in stores:
                await store.close()
    finally:
        _stop(process)
    base, waited = rows[0], rows[-1]
    added = {
        kind: round(waited[kind]["p50"] - base[kind]["p50"], 3)
        for kind in ("accept_ms", "lifecycle_ms")
    }
    return {"rows": rows, "added_p50_ms": added}
