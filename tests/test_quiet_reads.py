"""The reads every request and every queue broadcast make write nothing to Redis: nothing for
the request to wait on (the embedded Redis syncs its append-only file to disk on every
write) and nothing to replicate. Counted by Redis itself (`rdb_changes_since_last_save`, its
count of writes) on a redis-server of the test's own, which nothing else writes to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from private_redis import running

from triage_service.domain.codes import Role
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.users import User
from triage_service.service.sessions import load_session, open_session
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.sessions import REFRESH_AFTER_MS
from triage_service.store.store import connect

LEASE_MS = 3_000
OFFICER = User(id="u-officer", username="officer", display_name="Officer", role=Role.OFFICER)


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store on a redis-server of this test's own."""
    with running(tmp_path / "redis") as port:
        store = Store(await connect(f"redis://127.0.0.1:{port}/0", attempts=5), "quiet:")
        yield store
        await store.close()


async def writes(store: Store) -> int:
    """How many writes Redis has served so far."""
    return int((await store.client.info("persistence"))["rdb_changes_since_last_save"])


async def test_a_sessions_reads_write_nothing_until_a_minute_of_its_idle_timeout_ran_down(
    own_store: Store,
) -> None:
    """Requests on a session read it without writing; once its idle timeout has run down by
    more than `REFRESH_AFTER_MS`, the next request restarts it (one write)."""
    store, settings = own_store, Settings(key_prefix="quiet:", session_idle_s=1800)
    sign_in = await open_session(store, settings, OFFICER, wall_clock_ms())
    key, idle_ms = store.keys.session(sign_in.token), settings.session_idle_s * 1000
    before = await writes(store)
    for _ in range(5):
        assert await load_session(store, settings, sign_in.token, wall_clock_ms()) is not None
    assert await writes(store) == before
    assert await store.client.pttl(key) > idle_ms - REFRESH_AFTER_MS

    await store.client.pexpire(key, idle_ms - REFRESH_AFTER_MS - 1_000)
    before = await writes(store)
    assert await load_session(store, settings, sign_in.token, wall_clock_ms()) is not None
    assert await writes(store) == before + 1
    assert await store.client.pttl(key) > idle_ms - 1_000


async def test_counting_who_is_on_duty_writes_nothing_unless_the_store_stalled(
    own_store: Store,
) -> None:
    """The presence reads of a create and of a queue broadcast (`place`, `on_duty`) write
    nothing; one that finds the store stalled longer than a renewal interval (no presence
    step served for over a third of a lease) still extends every lease by the gap first."""
    store = own_store
    now = wall_clock_ms()
    await store.presence.hold([("u-clinician", "lease-1")], ttl_ms=LEASE_MS, now_ms=now)
    before = await writes(store)
    for _ in range(3):
        await store.presence.staffing(board="", now_ms=wall_clock_ms())
        await store.presence.place("r-absent", board="", now_ms=wall_clock_ms())
    assert await writes(store) == before

    (expiry,) = await store.client.zmscore(store.keys.leases("u-clinician"), ["lease-1"])
    assert expiry is not None
    gap_ms = LEASE_MS
    await store.client.hincrby(store.keys.presence_clock, "served_ms", -gap_ms)
    await store.presence.staffing(board="", now_ms=wall_clock_ms())
    (extended,) = await store.client.zmscore(store.keys.leases("u-clinician"), ["lease-1"])
    assert extended is not None and extended >= expiry + gap_ms
