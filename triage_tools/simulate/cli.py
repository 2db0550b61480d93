"""Play a realistic shift against a running triage service, or backfill past weeks of data.

Live shift (the default): officers arrive as a Poisson process with plausible requests
(urgency, Scottish areas, age bands, concerns, C-SSRS answers); clinicians go available,
take the next request, chat, optionally call with headless aiortc peers (`--calls`), and file
varied outcomes and referrals after realistic durations in compressed time (`--speed 60`: one
simulated minute per real second). Some officers cancel; requests still waiting past the
service's `max_wait_s` (real seconds) expire. Everything goes through the public REST API and
`/ws`. Progress on stderr, a summary at the end.

Backfill (`--backfill-days 7`): writes past completed, cancelled and expired requests, their
chat, outcomes and referral follow-ups straight through the lifecycle functions with the time
injected, in time order, so the statistics buckets and the events stream look like a real week.

Accounts: `sim-officer-NN` and `sim-clinician-NN`. `--create-accounts` makes any that are
missing (needs `--redis-url` or `--data-dir`, like backfill). For test and demo deployments
only: the accounts share one password (`--password`).

    scripts/simulate --create-accounts --data-dir ./var --minutes 60
    scripts/simulate --data-dir ./var --create-accounts --backfill-days 7 --minutes 0

A two-board day (the service started with TRIAGE_AREAS_FILE=docs/areas.example.toml):
requests come from the directory's areas and each clinician covers one board, so requests
are routed by board and overflow when a board's clinicians are busy.

    scripts/simulate --data-dir ./var --create-accounts --clinician-boards lothian,glasgow \\
        --areas-file docs/areas.example.toml --backfill-days 7 --minutes 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from triage_service.domain.users import parse_board_list
from triage_service.store.embedded import EmbeddedRedis
from triage_service.store.store import Store, connect
from triage_tools.simulate.accounts import create_accounts
from triage_tools.simulate.backfill import backfill
from triage_tools.simulate.run import run_shift
from triage_tools.simulate.shift import Shift


@contextlib.asynccontextmanager
async def redis_store(args: argparse.Namespace) -> AsyncIterator[Store]:
    """The service's Redis: `--redis-url`, else the embedded one under `--data-dir`."""
    embedded = None
    url = args.redis_url or os.environ.get("TRIAGE_REDIS_URL")
    if not url:
        if not args.data_dir:
            raise SystemExit(
                "simulate: --create-accounts and --backfill-days need --redis-url or --data-dir"
            )
        embedded = EmbeddedRedis(Path(args.data_dir))
        url = await embedded.start()
    client = await connect(url, attempts=5)
    try:
        yield Store(client, args.key_prefix)
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    d = Shift()
    p = argparse.ArgumentParser(prog="scripts/simulate", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=d.url, help="the running service")
    p.add_argument("--minutes", type=float, default=d.minutes, help="simulated shift length")
    p.add_argument(
        "--speed",
        type=float,
        default=d.speed,
        help="simulated minutes per real minute (60: a minute per second)",
    )
    p.add_argument("--officers", type=int, default=d.officers)
    p.add_argument("--clinicians", type=int, default=d.clinicians)
    p.add_argument(
        "--arrivals-per-hour",
        type=float,
        default=d.arrivals_per_hour,
        help="mean requests per simulated hour (Poisson)",
    )
    p.add_argument(
        "--cancel-share",
        type=float,
        default=d.cancel_share,
        help="share of officers who cancel while waiting",
    )
    p.add_argument(
        "--drain-minutes",
        type=float,
        default=d.drain_minutes,
        help="after the shift, time to finish open requests",
    )
    p.add_argument(
        "--clinician-boards",
        default="",
        help="B1,B2: new sim clinicians cover these health boards in turn (default: all)",
    )
    p.add_argument(
        "--areas-file",
        default=os.environ.get("TRIAGE_AREAS_FILE"),
        help="backfill: the service's area directory (env TRIAGE_AREAS_FILE)",
    )
    p.add_argument("--calls", action="store_true", help="real WebRTC calls (headless aiortc)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--password",
        default=os.environ.get("TRIAGE_SIM_PASSWORD", d.password),
        help="password of the sim-* accounts (env TRIAGE_SIM_PASSWORD)",
    )
    p.add_argument(
        "--create-accounts",
        action="store_true",
        help="create missing sim-* accounts (needs --redis-url or --data-dir)",
    )
    p.add_argument("--redis-url", help="the service's Redis (for accounts and backfill)")
    p.add_argument("--data-dir", help="the service's data dir (its embedded Redis)")
    p.add_argument("--key-prefix", default="triage:")
    p.add_argument(
        "--backfill-days",
        type=int,
        default=0,
        help="first write this many past days through the lifecycle scripts",
    )
    p.add_argument("--per-day", type=float, default=36.0, help="backfill: requests per day")
    p.add_argument(
        "--max-wait-s",
        type=int,
        default=900,
        help="backfill: the service's max_wait_s (waits beyond it expire)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def print_summary(title: str, summary: dict[str, Any], as_json: bool) -> None:
    """The end-of-run summary on stdout."""
    if as_json:
        print(json.dumps({title: summary}, indent=2))
        return
    print(
        f"{title}: {summary['requests']} requests, {summary['completed']} completed, "
        f"{summary['cancelled']} cancelled, {summary['expired']} expired"
        + (
            f", {summary['withdrawn_at_end']} withdrawn at the end"
            if summary["withdrawn_at_end"]
            else ""
        )
    )
    if summary["median_wait_s"] is not None:
        print(
            f"  median wait {summary['median_wait_s']} s"
            + (f" (≈ {summary['median_wait_sim_min']} simulated min)" if title == "shift" else "")
        )
    for disposition, count in summary["dispositions"].items():
        print(f"  {disposition:<32}{count}")
    calls = summary["calls"]
    if calls["connected"] or calls["failed"]:
        print(
            f"  calls: {calls['connected']} connected (median set-up "
            f"{calls['median_setup_ms']} ms), {calls['failed']} failed"
        )


async def main_async(argv: list[str] | None = None) -> dict[str, Any]:
    """Create accounts and backfill if asked, then play the shift; return the summaries."""
    args = parse_args(argv)
    shift = Shift(
        url=args.url,
        minutes=args.minutes,
        speed=args.speed,
        officers=args.officers,
        clinicians=args.clinicians,
        arrivals_per_hour=args.arrivals_per_hour,
        cancel_share=args.cancel_share,
        drain_minutes=args.drain_minutes,
        calls=args.calls,
        seed=args.seed,
        password=args.password,
        progress=not args.quiet,
        clinician_boards=parse_board_list(args.clinician_boards),
    )
    results: dict[str, Any] = {}
    if args.create_accounts or args.backfill_days:
        async with redis_store(args) as store:
            users = await create_accounts(store, shift)
            if args.backfill_days:
                print(f"backfilling {args.backfill_days} days …", file=sys.stderr)
                results["backfill"] = await backfill(
                    store,
                    users,
                    days=args.backfill_days,
                    per_day=args.per_day,
                    seed=args.seed,
                    max_wait_s=args.max_wait_s,
                    areas_file=args.areas_file,
                )
                print_summary("backfill", results["backfill"], args.json)
    if shift.minutes > 0:
        results["shift"] = await run_shift(shift)
        print_summary("shift", results["shift"], args.json)
    return results


def main() -> None:
    """Entry point of scripts/simulate."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(sys.argv[1:]))
