"""Benchmark: is GET /api/v1/stats flat in the number of stored requests?

Loads two stores under private key prefixes through the real lifecycle Lua scripts (`create`,
`accept` and `outcome`, pipelined): one with 1,000 completed requests spread over the last 30
days, one with the same 1,000 and 99,000 more (100,000 in all). Then it measures the median
latency of `GET /api/v1/stats?window=24h`, `?window=30d` and `?window=24h&series=true` (what
the supervisors' page reads) over a real HTTP server per store, the requests to the two
alternating so that the machine's speed, which drifts on a shared host, weighs on both
alike; prints one JSON object with both medians and their ratios, and deletes its keys.
Redis: TRIAGE_REDIS_URL, else redis://127.0.0.1:6379/0.

By default the 99,000 are spread over the same 30 days, so each window also holds 100 times
more requests. With `--older` they are created 31 to 365 days ago instead: the windows hold
the same requests and only the store grows.

    scripts/bench_stats [--small 1000] [--large 100000] [--samples 200] [--older]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.domain.rules import queue_score
from triage_service.domain.users import User
from triage_service.service.migrations import ensure_schema
from triage_service.service.sessions import open_session
from triage_service.settings import Settings
from triage_service.store.maintenance import delete_prefix
from triage_service.store.store import Store, connect
from triage_service.web.app import create_app
from triage_service.web.auth import COOKIE

DAY_MS = 86_400_000
BATCH = 500
AREAS = [f"Area {n}" for n in range(12)]
DISPOSITIONS = [
    "advice_only",
    "resolved_on_scene",
    "nhs24_mh_hub",
    "dbi_referral",
    "non_urgent_referral",
    "urgent_face_to_face",
    "emergency_department",
    "informal_admission",
    "criminal_justice",
    "emergency_services",
]
# Each read measured, by name: the two windows of the goals, and the 24 hours with their
# hourly series, as the supervisors' page and the live `stats` message read them.
WINDOWS = {"24h": "window=24h", "30d": "window=30d", "24h_series": "window=24h&series=true"}
WITH_REFERRAL = {"dbi_referral", "non_urgent_referral", "urgent_face_to_face"}


def request_args(
    rng: random.Random, now_ms: int, days: tuple[int, int]
) -> tuple[str, int, dict[str, Any]]:
    """A request's id, creation time (`days` ago, from and to) and stored fields, as
    `lifecycle.create_request` writes them."""
    created = now_ms - rng.randint(days[0] * DAY_MS + 60_000, days[1] * DAY_MS - 60_000)
    priority = rng.choice([1, 2, 3])
    form = {
        "incident_ref": "PS-BENCH",
        "notes": "",
        "concerns": ["distress"],
        "location": {"description": "bench", "area": rng.choice(AREAS)},
        "subject": {
            "age_band": rng.choice(["18_25", "26_40", "41_64"]),
            "sex": rng.choice(["female", "male"]),
            "known_name": None,
        },
        "screening": {"cssrs": None},
    }
    rid = secrets.token_hex(8)
    fields = {
        "id": rid,
        "status": "waiting",
        "priority": priority,
        "score": queue_score(priority, created),
        "urgency": "urgent",
        "mode": "video",
        "created_ms": created,
        "expire_ms": created + 900_000,
        "officer_id": "bench-off",
        "officer_name": "Bench Officer",
        "area": form["location"]["area"],  # type: ignore[index]
        "form": json.dumps(form),
    }
    return rid, created, fields


def outcome_args(rng: random.Random, rid: str, done: int) -> list[Any]:
    """The `outcome` script's arguments after the id, as `lifecycle.file_outcome` passes them."""
    disposition = rng.choice(DISPOSITIONS)
    outcome = {"triage_code": "D", "disposition": disposition, "conveyance": "none"}
    referral = ""
    if disposition in WITH_REFERRAL:
        referral = json.dumps(
            {
                "id": secrets.token_hex(8),
                "request_id": rid,
                "status": "pending",
                "created_ms": done,
                "updated_ms": done,
                "kind": "referral",
                "service": "gp",
                "urgency": "D",
                "due_ms": done + 3 * DAY_MS,
                "contact": "",
            }
        )
    released = done + rng.randint(0, 1_800_000)
    return ["bench-clin", json.dumps(outcome), disposition, "D", "none", released, referral, "", ""]


async def load_completed(
    store: Store, count: int, rng: random.Random, now_ms: int, *, days: tuple[int, int] = (0, 30)
) -> None:
    """`count` requests created, accepted and completed through the lifecycle scripts."""
    for start in range(0, count, BATCH):
        calls: list[tuple[str, int, Sequence[Any]]] = []
        for _ in range(min(BATCH, count - start)):
            rid, created, fields = request_args(rng, now_ms, days)
            accepted = created + rng.randint(0, 900_000)
            done = accepted + rng.randint(60_000, 5_400_000)
            create = [rid, "bench-off", "", 60, fields["expire_ms"], json.dumps(fields)]
            calls += [
                ("create", created, create),
                ("accept", accepted, [rid, "bench-clin", "Bench Clinician"]),
                ("outcome", done, [rid, *outcome_args(rng, rid, done)]),
            ]
        await store.run_many(calls)


async def get_ms(session: aiohttp.ClientSession, url: str) -> float:
    """Wall time of one GET of `url`, in milliseconds."""
    started = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000


@contextlib.asynccontextmanager
async def stats_server(settings: Settings, store: Store) -> AsyncIterator[tuple[str, str]]:
    """A server on `store` (base URL) and a supervisor's session cookie on it."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        supervisor = User(
            id="bench-sup", username="bench-sup", display_name="Bench", role=Role.SUPERVISOR
        )
        sign_in = await open_session(store, settings, supervisor, int(time.time() * 1000))
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", sign_in.token
    finally:
        await runner.cleanup()


async def measure(
    stores: dict[str, tuple[Settings, Store]], samples: int
) -> dict[str, dict[str, float]]:
    """Median latency of the 24 h and 30 d windows on each store, requests interleaved.

    Each store has its own server; the GETs alternate between them (after a warm-up), so a
    machine that speeds up or slows down meanwhile affects both alike and the ratio stays
    true. The servers run only while measuring, not during the load.
    """
    async with contextlib.AsyncExitStack() as stack:
        servers = {
            name: await stack.enter_async_context(stats_server(*pair))
            for name, pair in stores.items()
        }
        sessions = {
            name: await stack.enter_async_context(aiohttp.ClientSession(cookies={COOKIE: token}))
            for name, (_, token) in servers.items()
        }
        timings: dict[str, dict[str, list[float]]] = {
            name: {w: [] for w in WINDOWS} for name in stores
        }
        for i in range(samples + 20):
            for window, query in WINDOWS.items():
                for name, (base, _) in servers.items():
                    ms = await get_ms(sessions[name], f"{base}/api/v1/stats?{query}")
                    if i >= 20:
                        timings[name][window].append(ms)
    return {
        name: {w: round(statistics.median(t), 3) for w, t in by_window.items()}
        for name, by_window in timings.items()
    }


async def run_bench(
    redis_url: str,
    *,
    small: int = 1000,
    large: int = 100_000,
    samples: int = 200,
    older: bool = False,
    seed: int = 4,
) -> dict[str, Any]:
    """Load a small and a large store, measure both interleaved; delete every key written.

    The large store holds the small one's requests (the same seed) and the rest.
    """
    prefix = f"bench-stats:{secrets.token_hex(4)}:"
    client = await connect(redis_url)
    stores = {
        name: (
            Settings(redis_url=redis_url, key_prefix=f"{prefix}{name}:", sweep_interval_s=3600),
            Store(client, f"{prefix}{name}:"),
        )
        for name in ("small", "large")
    }
    now_ms = int(time.time() * 1000)
    try:
        started = time.perf_counter()
        for name, (settings, store) in stores.items():
            # Stamped as a new deployment stamps its empty store: the records are loaded by
            # this code's scripts, so the servers find nothing to migrate at start-up.
            await ensure_schema(store, settings, lambda: now_ms)
            rng = random.Random(seed)
            await load_completed(store, small, rng, now_ms)
            if name == "large":
                await load_completed(
                    store, large - small, rng, now_ms, days=(31, 365) if older else (0, 30)
                )
        load_s = time.perf_counter() - started
        medians = await measure(stores, samples)
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()
    at_small, at_large = medians["small"], medians["large"]
    return {
        "requests": [small, large],
        "median_ms": {str(small): at_small, str(large): at_large},
        "ratio": {w: round(at_large[w] / at_small[w], 3) for w in at_small},
        "more_requests": "31-365 days old" if older else "in the same 30 days",
        "load_s": round(load_s, 1),
        "samples": samples,
        "interleaved": True,
    }


def main() -> None:
    """Parse flags, run the benchmark, print its JSON."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench_stats", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--older",
        action="store_true",
        help="create the extra requests 31-365 days ago (store size alone)",
    )
    args = parser.parse_args()
    url = os.environ.get("TRIAGE_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = asyncio.run(
        run_bench(url, small=args.small, large=args.large, samples=args.samples, older=args.older)
    )
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
