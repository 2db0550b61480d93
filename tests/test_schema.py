"""Data layout versions and the statistics rebuild: a newer store is refused at start-up, an
unversioned one is migrated, and rebuilt counters give the same statistics."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from stats_random import make_random_requests

from conftest import REDIS_URL, FakeClock, SignInFactory
from triage_service.cli_store import migrate_command, stats_rebuild_command
from triage_service.service.migrations import CURRENT
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.maintenance import delete_prefix
from triage_service.web.app import create_app
from triage_service.web.state import STORE

ROOT = Path(__file__).resolve().parent.parent
DAY = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000
# The histories are written in the past by hand: the sweeper must not expire them meanwhile.
pytestmark = pytest.mark.settings(sweep_interval_s=3600)


@pytest.fixture
def clock() -> FakeClock:
    """A clock four days after the random histories start."""
    return FakeClock(DAY + 100 * H)


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


async def all_stats(supervisor: Any) -> list[dict[str, Any]]:
    """The statistics of several windows (whole days, odd hours, minutes at the edges)."""
    windows = [(DAY, DAY + 96 * H), (DAY + 5 * H, DAY + 6 * H), (DAY + 30 * H + 7, DAY + 61 * H)]
    found = []
    for a, b in windows:
        status, body = await supervisor.get(
            f"/api/v1/stats?from={iso(a)}&to={iso(b)}&series=true&heat_map=true"
        )
        assert status == 200, body
        found.append(body["window"])
    return found


async def test_a_new_store_is_stamped_current(app: web.Application, server: TestServer) -> None:
    """An empty store gets the current data layout version at start-up, with no migration."""
    assert await app[STORE].schema.version() == CURRENT


async def test_rebuilt_counters_give_the_same_stats(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """After every statistics counter is deleted, the statistics differ; after `stats
    rebuild` they are exactly what they were (every figure of several windows)."""
    store = app[STORE]
    await make_random_requests(store, app, random.Random(7), start_ms=DAY, hours=96, count=160)
    supervisor = await sign_in("supervisor")
    before = await all_stats(supervisor)
    assert before[0]["requests"] == 160
    assert await store.stats.delete_counters() > 0
    assert await all_stats(supervisor) != before
    assert await stats_rebuild_command(settings) == 0
    assert await all_stats(supervisor) == before


async def test_rebuild_beside_intact_counters_changes_nothing(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """A rebuild over counters that are right leaves every figure as it was (each hour's
    counters are taken out of the blocks holding it before being counted again)."""
    await make_random_requests(app[STORE], app, random.Random(8), start_ms=DAY, hours=96, count=80)
    supervisor = await sign_in("supervisor")
    before = await all_stats(supervisor)
    assert await stats_rebuild_command(settings) == 0
    assert await stats_rebuild_command(settings) == 0
    assert await all_stats(supervisor) == before


async def test_an_unversioned_store_is_migrated(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """A store from before versions were kept (no `schema` key) becomes current with
    `triage-service migrate`, its counters rebuilt; migrating again does nothing."""
    store = app[STORE]
    await make_random_requests(store, app, random.Random(9), start_ms=DAY, hours=48, count=40)
    supervisor = await sign_in("supervisor")
    before = await all_stats(supervisor)
    await store.stats.delete_counters()
    await store.client.delete(store.keys.schema)
    assert await store.schema.version() == 0
    assert await migrate_command(settings) == 0
    assert await store.schema.version() == CURRENT
    assert await all_stats(supervisor) == before
    assert await migrate_command(settings) == 0


async def as_layout_2(store: Store) -> int:
    """Put the open referrals back as data layout 2 kept them (`referrals:open:created`, and
    a board's own set, by their request's creation) and drop their index by due time; how
    many open referrals there are."""
    keys = store.keys
    open_ids = await store.referrals.open_due_by("+inf", 10_000)
    found = await store.referrals.fields_of(open_ids, ("kind", "due_ms", "request_id"))
    requests = await store.requests.fields_of(
        [str(f["request_id"]) for f in found], ("created_ms", "board")
    )
    for rid, referral, request in zip(open_ids, found, requests, strict=True):
        counter = "mwc" if referral["kind"] == "mwc_notification" else "ref"
        member = {f"{counter}:{referral['due_ms']}:{rid}": int(str(request["created_ms"]))}
        await store.client.zadd(keys.referrals_open_created, member)
        if request["board"]:
            await store.client.zadd(keys.board_referrals_open_created(request["board"]), member)
    assert await delete_prefix(store.client, keys.referrals_due("")) > 0
    await store.schema.set_version(2)
    return len(open_ids)


async def test_layout_2_open_referrals_are_indexed_by_due_time(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """A store of data layout 2, its open referrals kept by their request's creation, gives
    every figure again once `triage-service migrate` has indexed them by due time in each
    piece of creation time (layout 3), the referrals not yet due among them, and keeps none
    of the old sets."""
    store = app[STORE]
    await make_random_requests(store, app, random.Random(12), start_ms=DAY, hours=96, count=160)
    supervisor = await sign_in("supervisor")
    before = await all_stats(supervisor)
    follow_ups = before[0]["referrals"]
    assert 0 < follow_ups["due"] < follow_ups["made"]  # some still open and not yet due
    assert await as_layout_2(store) > 0
    assert await all_stats(supervisor) != before
    assert await migrate_command(settings) == 0
    assert await store.schema.version() == CURRENT
    assert await all_stats(supervisor) == before
    assert not await store.client.keys(store.keys.referrals_open_created + "*")


async def test_layout_3_hours_get_their_waits_indexed_by_value(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """A store of data layout 3, without each hour's waits by value, gives every figure (the
    hourly series walk the duration bins instead); `triage-service migrate` indexes them
    (layout 4), one member a request answered, and every figure stays the same."""
    store = app[STORE]
    await make_random_requests(store, app, random.Random(13), start_ms=DAY, hours=96, count=160)
    supervisor = await sign_in("supervisor")
    before = await all_stats(supervisor)
    pattern = store.keys.stats("wait*:hs:*")
    answered = sum([await store.client.zcard(k) for k in await store.client.keys(pattern)])
    accepted = before[0]["accepted"]
    assert answered > accepted > 0  # every answered request, and again under its board
    await store.client.delete(*await store.client.keys(pattern))
    await store.schema.set_version(3)
    assert await all_stats(supervisor) == before
    assert await migrate_command(settings) == 0
    assert await store.schema.version() == CURRENT == 4
    assert sum([await store.client.zcard(k) for k in await store.client.keys(pattern)]) == answered
    assert await all_stats(supervisor) == before


async def test_start_up_migrates_an_unversioned_store(
    sign_in: SignInFactory, app: web.Application, server: TestServer, settings: Settings
) -> None:
    """An instance starting on an unversioned store with data migrates it before serving."""
    store = app[STORE]
    await make_random_requests(store, app, random.Random(10), start_ms=DAY, hours=24, count=20)
    await store.client.delete(store.keys.schema)
    second = TestServer(create_app(settings))
    await second.start_server()
    try:
        assert await store.schema.version() == CURRENT
    finally:
        await second.close()


@pytest.mark.slow  # runs the command line
def test_start_up_refuses_a_newer_store(key_prefix: str) -> None:
    """`serve` on a store whose version is newer than the code's stops with one line naming
    the problem and exit status 2 (and `migrate` likewise), touching nothing."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.set(key_prefix + "schema", CURRENT + 1)
    where = ["--redis-url", REDIS_URL, "--key-prefix", key_prefix, "--log-format", "text"]
    try:
        for command in (["serve", "--port", "1"], ["migrate"]):
            done = subprocess.run(
                [sys.executable, "-m", "triage_service", *command, *where],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2, done.stderr
            errors = [line for line in done.stderr.splitlines() if "triage-service:" in line]
            assert len(errors) == 1 and "newer than this code" in errors[0], done.stderr
        assert client.get(key_prefix + "schema") == str(CURRENT + 1)
    finally:
        client.delete(key_prefix + "schema")
        client.close()
