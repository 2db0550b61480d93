"""The shift simulator and the benchmark's helpers (triage_tools.simulate and .bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import read_stream
from triage_service.store.store import Store
from triage_service.web.state import STORE
from triage_tools.bench.figures import percentile
from triage_tools.bench.throughput import lifecycle_floor_ms
from triage_tools.shift_data import NATIONAL, area_mix
from triage_tools.shift_mix import AREAS
from triage_tools.simulate.accounts import create_accounts
from triage_tools.simulate.backfill import backfill
from triage_tools.simulate.run import run_shift
from triage_tools.simulate.shift import Shift


async def short_shift(server: TestServer, **changes: Any) -> dict[str, Any]:
    """Play a 20-minute shift at 600 times speed (3 officers, 2 clinicians, 40 requests an
    hour) against `server`, with `changes`; return its summary."""
    options: dict[str, Any] = {
        "minutes": 20,
        "speed": 600,
        "officers": 3,
        "clinicians": 2,
        "arrivals_per_hour": 40,
        "assessment_minutes": 5,
        "drain_minutes": 20,
        "progress": False,
    }
    shift = Shift(url=str(server.make_url("")).rstrip("/"), **(options | changes))
    await create_accounts(server.app[STORE], shift)
    return await run_shift(shift)


@pytest.mark.timeout(30)
async def test_simulated_shift_creates_and_completes_requests(server: TestServer) -> None:
    """A short compressed-time shift raises requests that clinicians accept, chat over and
    complete with an outcome the service accepts."""
    summary = await short_shift(server, minutes=30, assessment_minutes=6, seed=7)
    assert summary["requests"] >= 3
    assert summary["completed"] >= 1
    assert sum(summary["dispositions"].values()) == summary["completed"]
    assert summary["errors"] == 0
    assert summary["messages"] >= 2 * summary["completed"]
    store = server.app[STORE]
    assert await store.client.zcard(store.keys("queue")) == 0  # nobody left waiting


async def test_backfill_finishes_every_request_in_time_order(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A backfilled day leaves nothing waiting and its events are in time order."""
    store = Store(redis_client, key_prefix)
    users = await create_accounts(store, Shift(officers=3, clinicians=2))
    summary = await backfill(store, users, days=1, per_day=40, seed=3, max_wait_s=900)
    assert summary["requests"] > 10
    assert summary["requests"] == (summary["completed"] + summary["cancelled"] + summary["expired"])
    assert await redis_client.zcard(store.keys("queue")) == 0
    events = await read_stream(redis_client, store.keys("events"))
    times = [int(fields["at"]) for fields in events if fields["type"] != "availability"]
    assert times == sorted(times)


def test_percentile_is_nearest_rank() -> None:
    """The benchmark's percentile returns a sample that occurred (nearest-rank method)."""
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile(list(range(1, 201)), 99) == 198
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([7.5], 99) == 7.5
    assert percentile([3, 1, 2], 100) == 3
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1, 2], 0)


def test_the_least_a_lifecycle_costs_is_five_requests_and_its_frames() -> None:
    """The benchmark's least for a lifecycle: five requests at a /healthz's CPU plus their
    second round trip (bare stack: two round trips less one), and the frames received; on the
    bare stack, five POSTs with two round trips and the same frames."""
    throughput = {
        "server_cpu_ms_per_healthz": 0.25,
        "frames_per_lifecycle": 60.0,
        "stack_floor": {
            "post_1_redis_us": 130.0,
            "post_2_redis_us": 170.0,
            "frame_in_bursts_us": 8.0,
        },
    }
    assert lifecycle_floor_ms(throughput) == {
        "bare_stack": round(5 * 0.170 + 60 * 0.008, 3),
        "service_requests": round(5 * (0.25 + 0.040) + 60 * 0.008, 3),
    }


EXAMPLE_AREAS = Path(__file__).parent.parent / "docs" / "areas.example.toml"


async def test_two_board_backfill_routes_by_board(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """With the example directory and a clinician per board, backfilled requests come from
    the directory's areas of both boards, and each is answered by a clinician covering its
    board."""
    store = Store(redis_client, key_prefix)
    shift = Shift(officers=3, clinicians=2, clinician_boards=("lothian", "glasgow"))
    users = await create_accounts(store, shift)
    assert [c.boards for c in users["clinician"]] == [("lothian",), ("glasgow",)]
    summary = await backfill(
        store, users, days=1, per_day=40, seed=5, max_wait_s=900, areas_file=str(EXAMPLE_AREAS)
    )
    assert summary["completed"] > 5
    covers = {c.id: c.boards[0] for c in users["clinician"]}
    boards, answered = set(), 0
    async for key in redis_client.scan_iter(store.keys.request("*")):
        record = await redis_client.hgetall(key)
        if "board" not in record:
            continue
        assert record["area_id"] and record["board"] in ("lothian", "glasgow")
        boards.add(record["board"])
        if record.get("clinician_id"):
            answered += 1
            assert covers[str(record["clinician_id"])] == record["board"], record["area_id"]
    assert boards == {"lothian", "glasgow"} and answered >= summary["completed"]


def test_area_mix_follows_the_directory() -> None:
    """The mix holds the directory's areas with their ids (weighted as the national mix where
    the names match); the default directory of one area keeps the national mix."""
    mix = area_mix([("leith", "Edinburgh Leith", None, None), ("x", "Nowhere", 1.0, 2.0)])
    assert mix.ids == {"Edinburgh Leith": "leith", "Nowhere": "x"}
    assert mix.areas["Edinburgh Leith"] == AREAS["Edinburgh Leith"]
    assert mix.areas["Nowhere"][:3] == (2.0, 1.0, 2.0)
    assert area_mix([("default", "Default", None, None)]) is NATIONAL


@pytest.mark.timeout(30)
@pytest.mark.settings(areas_file=str(EXAMPLE_AREAS))
async def test_two_board_live_shift_sends_area_ids(server: TestServer) -> None:
    """A live shift against a two-board service raises its requests from the directory's
    areas (by id), and clinicians of each board complete them."""
    summary = await short_shift(server, seed=11, clinician_boards=("lothian", "glasgow"))
    store = server.app[STORE]
    assert summary["errors"] == 0 and summary["completed"] >= 1
    boards = set()
    async for key in store.client.scan_iter(store.keys.request("*")):
        record = await store.client.hgetall(key)
        if "status" in record:
            assert record["area_id"] and record["board"] in ("lothian", "glasgow")
            boards.add(record["board"])
    assert boards
