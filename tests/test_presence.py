"""A clinician whose connection drops keeps the session for the grace period only (on the
test's clock: the grace runs out when the test moves the clock, not after a real wait)."""

from __future__ import annotations

from typing import cast

import pytest
from aiohttp.test_utils import TestServer

from conftest import REQUEST_FORM, ApiClient, FakeClock, SignInFactory, wait_until
from support.sockets import connect
from triage_service.web.state import STORE

GRACE_S = 60
pytestmark = pytest.mark.settings(clinician_grace_s=GRACE_S, sweep_interval_s=0.05)


@pytest.fixture
def clock() -> FakeClock:
    """The app's clock, moved by the test."""
    return FakeClock()


async def status_of(officer: ApiClient, request_id: str) -> str:
    """The request's status as its officer reads it."""
    _, record = await officer.get(f"/api/v1/requests/{request_id}")
    return str(record["status"])


async def grace_timer(clinician: ApiClient) -> float | None:
    """When the clinician's grace timer is due, if it is set."""
    store = cast(TestServer, clinician.client.server).app[STORE]
    due: float | None = await store.client.zscore(store.keys("due"), f"grace:{clinician.user.id}")
    return due


async def test_dropped_clinician_is_released_after_grace(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A dropped clinician's grace timer runs the grace period on; until then the session
    stays; once it has passed the request is back in the queue (first) and the clinician
    offline."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    socket = await connect(clinician)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    await socket.close()

    async def grace_set() -> bool:
        return await grace_timer(clinician) is not None

    await wait_until(grace_set, timeout=5)
    assert await grace_timer(clinician) == clock() + GRACE_S * 1000
    clock.advance(GRACE_S - 1)
    await wait_until(grace_set, timeout=5)  # sweeps at this time leave it
    assert await status_of(officer, rid) == "in_session"
    clock.advance(1)

    async def released() -> bool:
        return await status_of(officer, rid) == "waiting"

    await wait_until(released, timeout=5)
    _, after = await officer.get(f"/api/v1/requests/{rid}")
    assert after["position"] == 1
    _, availability = await clinician.get("/api/v1/availability")
    assert availability["status"] == "offline"


async def test_reconnecting_clinician_keeps_the_session(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A clinician who reconnects within the grace period keeps the session: the grace timer
    is cancelled, and the session outlives the grace period."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    first = await connect(clinician)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    await first.close()

    async def grace_set() -> bool:
        return await grace_timer(clinician) is not None

    await wait_until(grace_set, timeout=5)
    second = await connect(clinician)

    async def grace_cancelled() -> bool:
        return await grace_timer(clinician) is None

    await wait_until(grace_cancelled, timeout=5)
    clock.advance(GRACE_S * 2)
    await clinician.get("/api/v1/me")  # a request after at least one more sweep
    assert await status_of(officer, rid) == "in_session"
    await second.close()
