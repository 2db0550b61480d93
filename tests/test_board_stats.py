"""GET /api/v1/stats?board=: every figure of a board's window against a brute-force count of
that board's records, for two boards in different time zones (one crossing a change to
daylight time), as the whole-service window is checked in test_stats.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from stats_random import make_random_requests
from stats_truth import load_all, series_truth, window_truth

from conftest import REDIS_URL, FakeClock, SignInFactory
from support.forms import iso
from triage_service.cli_store import migrate_command
from triage_service.settings import Settings
from triage_service.web.state import STORE

# Friday 6 March 2026, 00:00 UTC: New York moves to daylight time on Sunday 8 March.
START = int(datetime(2026, 3, 6, tzinfo=UTC).timestamp() * 1000)
H, M = 3_600_000, 60_000
AREAS = """
[boards.lothian]
name = "NHS Lothian"
timezone = "Europe/London"
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"
[[boards.lothian.areas]]
id = "musselburgh"
name = "Musselburgh"
phone_fallback = "0131 000 0002"

[boards.newyork]
name = "New York test board"
timezone = "America/New_York"
[[boards.newyork.areas]]
id = "harlem"
name = "Harlem"
phone_fallback = "+1 212 000 0000"
[[boards.newyork.areas]]
id = "bronx"
name = "Bronx"
phone_fallback = "+1 718 000 0000"
"""
ZONES = {"lothian": "Europe/London", "newyork": "America/New_York"}


@pytest.fixture
def clock() -> FakeClock:
    """The clock, moved by the test."""
    return FakeClock(START)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Two boards in two time zones; s298 notices due in a day, so some are due and some
    not within the test's days."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        mwc_notice_days=1,
        session_absolute_s=30 * 86400,
    )


async def test_board_stats_match_brute_force(
    sign_in: SignInFactory,
    clock: FakeClock,
    app: web.Application,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """For random requests of two boards (and some of no board) over four days, every figure
    of `board=` for random windows equals a recount of that board's records alone, in the
    board's local time: referrals and s298 notices made, due and on time, feedback,
    overrides, consent, hours and days (New York's across its change to daylight time)."""
    rng = random.Random(20260306)
    await make_random_requests(
        app[STORE],
        app,
        rng,
        start_ms=START,
        hours=96,
        count=240,
        area_ids=["leith", "musselburgh", "harlem", "bronx", None],
    )
    records, referrals = await load_all(redis_client, key_prefix)
    supervisor = await sign_in("supervisor")
    clock.now_ms = START + 60 * H  # some referrals and notices are due by now, some not
    windows: list[tuple[int, ...]] = [
        (START, START + 96 * H),
        (START + 5 * H, START + 6 * H),
        (START + 30 * H + 10 * M, START + 30 * H + 50 * M),
    ]
    windows += [tuple(sorted(rng.sample(range(START - H, START + 97 * H), 2))) for _ in range(6)]
    for board, zone_name in ZONES.items():
        zone = ZoneInfo(zone_name)
        whole = window_truth(
            records, referrals, START, START + 96 * H, now_ms=clock.now_ms, board=board, zone=zone
        )
        for figure in ("overrides", "consent"):
            assert whole[figure], (board, figure)
        assert whole["feedback"]["count"] and whole["referrals"]["due"], board
        assert whole["mwc_notifications"]["made"] > whole["mwc_notifications"]["due"] > 0, board
        for a, b in windows:
            query = f"from={iso(a)}&to={iso(b)}&board={board}&series=true&heat_map=true"
            status, found = await supervisor.get(f"/api/v1/stats?{query}")
            assert status == 200, found
            truth = window_truth(
                records, referrals, a, b, now_ms=clock.now_ms, board=board, zone=zone
            )
            got = {k: found["window"][k] for k in truth}
            got["service_level"] = {
                k: v for k, v in got["service_level"].items() if k != "today_pct"
            }
            assert got == truth, (board, iso(a), iso(b))
            points = [
                {k: v for k, v in p.items() if k != "from"}
                for p in found["window"]["series"]["points"]
            ]
            assert points == series_truth(records, a, b, board=board, zone=zone), (
                board,
                iso(a),
                iso(b),
            )


async def test_migration_to_board_counts_restores_every_board_figure(
    sign_in: SignInFactory,
    clock: FakeClock,
    app: web.Application,
    settings: Settings,
) -> None:
    """A store of data layout 1 (no board's own index of open referrals, counters from before
    feedback and consent were counted per board) migrated by `triage-service migrate` gives
    every board figure again, as the lifecycle steps counted them."""
    store = app[STORE]
    await make_random_requests(
        store,
        app,
        random.Random(11),
        start_ms=START,
        hours=48,
        count=60,
        area_ids=["leith", "bronx"],
    )
    clock.now_ms = START + 30 * H
    supervisor = await sign_in("supervisor")
    query = f"from={iso(START)}&to={iso(START + 48 * H)}&series=true&heat_map=true"

    async def figures() -> list[dict[str, object]]:
        found = []
        for board in ZONES:
            status, body = await supervisor.get(f"/api/v1/stats?{query}&board={board}")
            assert status == 200, body
            found.append(body["window"])
        return found

    before = await figures()
    assert await store.stats.delete_counters() > 0
    for board in ZONES:
        await store.client.delete(store.keys.board_referrals_open_created(board))
    await store.schema.set_version(1)
    assert await figures() != before
    assert await migrate_command(settings) == 0
    assert await figures() == before
