"""Benchmark: how long a month of 10,000 requests takes to become a board report.

Loads one board's local calendar month (March 2026, the default board) with `--requests`
completed requests through the real lifecycle Lua scripts (`create`, `accept`, `outcome`,
`feedback` with a counterfactual, pipelined) under a private key prefix, then times
`GET /api/v1/reports/monthly` (JSON), `/reports/default/2026-03` (the page) and its `.pdf`
over a real HTTP server, `--samples` times each after one warm-up; prints one JSON object
(medians and maxima in milliseconds, and in this process the medians of reading and
counting the month, drawing the page and rendering the PDF) and deletes its keys. A figure,
not a test: the goal is under 2 s for 10,000 requests. Redis: TRIAGE_REDIS_URL, else
redis://127.0.0.1:6379/0.

    scripts/bench_report [--requests 10000] [--samples 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from triage_service.domain.times import wall_clock_ms
from triage_service.report.build import monthly_report
from triage_service.report.month import Month
from triage_service.report.render import report_html, report_pdf
from triage_service.settings import Settings
from triage_service.store.maintenance import delete_prefix
from triage_service.store.store import Store, connect
from triage_service.web.auth import COOKIE
from triage_service.web.templates import jinja_environment
from triage_service.web.views.reports import STYLESHEET
from triage_tools.bench.stats import (
    BATCH,
    get_ms,
    outcome_args,
    request_args,
    stats_server,
)

MONTH = Month(2026, 3)
MONTH_START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)  # GMT: London midnight
MONTH_MS = 30 * 86_400_000  # to 31 March 00:00 UTC, inside the month on London time
COUNTERFACTUALS = ["", "s297_removal", "ed_conveyance", "arrest", "no_support", "same"]
PATHS = {
    "json": "/api/v1/reports/monthly?board=default&month=2026-03",
    "html": "/reports/default/2026-03",
    "pdf": "/reports/default/2026-03.pdf",
}


def month_request(rng: random.Random) -> tuple[str, int, dict[str, Any]]:
    """A request of the default board and area created in March 2026."""
    rid, _, fields = request_args(rng, MONTH_START, (0, 1))
    created = MONTH_START + rng.randint(0, MONTH_MS - 1)
    fields.update(created_ms=created, expire_ms=created + 900_000, area_id="default")
    fields["board"] = "default"
    return rid, created, fields


async def load_month(store: Store, count: int, rng: random.Random) -> None:
    """`count` requests created, answered, completed and (two in three) rated."""
    for start in range(0, count, BATCH):
        calls: list[tuple[str, int, Sequence[Any]]] = []
        for _ in range(min(BATCH, count - start)):
            rid, created, fields = month_request(rng)
            accepted = created + rng.randint(0, 900_000)
            done = accepted + rng.randint(60_000, 5_400_000)
            create = [rid, "bench-off", "", 60, fields["expire_ms"], json.dumps(fields)]
            calls += [
                ("create", created, create),
                ("accept", accepted, [rid, "bench-clin", "Bench Clinician"]),
                ("outcome", done, [rid, *outcome_args(rng, rid, done)]),
            ]
            if rng.random() < 0.67:
                saved = str(rng.randint(0, 240)) if rng.random() < 0.5 else ""
                said = rng.choice(COUNTERFACTUALS)
                feedback = [rid, "bench-off", rng.randint(1, 5), saved, "", said]
                calls.append(("feedback", done + 60_000, feedback))
        await store.run_many(calls)


async def time_report(settings: Settings, store: Store, samples: int) -> dict[str, Any]:
    """Median and maximum wall time of each form of the report, after a warm-up."""
    timings: dict[str, list[float]] = {form: [] for form in PATHS}
    async with (
        stats_server(settings, store) as (base, token),
        aiohttp.ClientSession(cookies={COOKIE: token}) as session,
    ):
        for i in range(samples + 1):
            for form, path in PATHS.items():
                ms = await get_ms(session, base + path)
                if i:
                    timings[form].append(ms)
    return {
        form: {"median_ms": round(statistics.median(t), 1), "max_ms": round(max(t), 1)}
        for form, t in timings.items()
    }


async def time_parts(settings: Settings, store: Store, samples: int) -> dict[str, float]:
    """In this process, without HTTP: reading and counting the month (`figures`, with the
    trend), drawing the page (`html`) and rendering the PDF (`pdf`), medians after a warm-up."""
    board = settings.areas.boards[0]
    timings: dict[str, list[float]] = {"figures": [], "html": [], "pdf": []}
    for i in range(samples + 1):
        started = time.perf_counter()
        report = await monthly_report(store, settings, board, MONTH, now_ms=wall_clock_ms())
        drawn = time.perf_counter()
        html = report_html(jinja_environment(), report, board, inline_css=STYLESHEET)
        printed = time.perf_counter()
        await asyncio.to_thread(report_pdf, html)
        done = time.perf_counter()
        if i:
            for name, ms in zip(
                timings, (drawn - started, printed - drawn, done - printed), strict=True
            ):
                timings[name].append(ms * 1000)
    return {name: round(statistics.median(t), 1) for name, t in timings.items()}


async def run_bench(
    redis_url: str, *, requests: int, samples: int, seed: int = 24
) -> dict[str, Any]:
    """Load the month, time the report, delete every key written."""
    prefix = f"bench-report:{secrets.token_hex(4)}:"
    client = await connect(redis_url)
    settings = Settings(
        redis_url=redis_url, key_prefix=prefix, sweep_interval_s=3600, timezone="Europe/London"
    )
    store = Store(client, prefix)
    try:
        started = time.perf_counter()
        await load_month(store, requests, random.Random(seed))
        load_s = time.perf_counter() - started
        found = await time_report(settings, store, samples)
        parts = await time_parts(settings, store, samples)
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()
    worst = max(found[form]["median_ms"] for form in found)
    return {
        "requests": requests,
        "report_ms": found,
        "parts_median_ms": parts,
        "goal_ms": 2000,
        "meets_goal": worst < 2000,
        "load_s": round(load_s, 1),
        "samples": samples,
    }


def main() -> None:
    """Parse flags, run the benchmark, print its JSON."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench_report", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    redis_url = os.environ.get("TRIAGE_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = asyncio.run(run_bench(redis_url, requests=args.requests, samples=args.samples))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
