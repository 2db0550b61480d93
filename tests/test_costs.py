"""What one step costs the service, counted rather than timed (so the counts hold on a
loaded machine): round trips to Redis on the paths a waiting officer and the clinicians
wait on."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from support.trips import Trips, counted_store
from triage_client.forms import SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_service.domain.errors import RateLimited
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.web.serving import GC_YOUNG_THRESHOLD, settle_memory

OFFICER = User(id="off-1", username="off-1", display_name="Officer 1", role=Role.OFFICER)


@pytest.fixture
def trips() -> Trips:
    """The round trips of this test's store."""
    return Trips()


@pytest.fixture
async def store(
    key_prefix: str, redis_client: aioredis.Redis, trips: Trips
) -> AsyncIterator[Store]:
    """The store on the test Redis, counting its round trips."""
    async with counted_store(key_prefix, trips) as counted:
        yield counted


async def test_a_create_is_counted_against_the_limit_in_its_own_round_trip(
    store: Store, settings: Settings, trips: Trips
) -> None:
    """Creating a request counts it against the officer's requests a minute in the same
    step, one round trip in all (the clinicians' wake-up is published by it), and the one
    over the limit is refused with nothing created."""
    form = RequestForm.model_validate(SHORT_REQUEST_FORM)
    now = 1_800_000_000_000
    await lifecycle.create_request(
        store, settings, OFFICER, form, now_ms=now, idempotency_key=None, per_minute=2
    )  # the script is loaded
    trips.sent = 0
    await lifecycle.create_request(
        store, settings, OFFICER, form, now_ms=now, idempotency_key=None, per_minute=2
    )
    assert trips.sent == 1
    with pytest.raises(RateLimited) as refused:
        await lifecycle.create_request(
            store, settings, OFFICER, form, now_ms=now, idempotency_key=None, per_minute=2
        )
    assert 1 <= refused.value.retry_after_s <= 60
    assert len(await store.requests.of_officer(OFFICER.id, 10)) == 2


def test_once_serving_start_up_objects_are_left_out_of_collections() -> None:
    """After start-up the objects it built are frozen (no collection scans them again) and
    young collections run at `GC_YOUNG_THRESHOLD` allocations, not CPython's 700."""
    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
