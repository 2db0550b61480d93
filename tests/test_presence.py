"""A clinician whose connection drops keeps the session for the grace period only."""

from __future__ import annotations

import asyncio

import pytest
from test_live import connect

from conftest import REQUEST_FORM, SignInFactory
from triage_service.settings import Settings


@pytest.fixture
def settings(key_prefix: str) -> Settings:
    """A one-second grace period and a fast sweeper."""
    from conftest import REDIS_URL

    return Settings(
        redis_url=REDIS_URL, key_prefix=key_prefix, sweep_interval_s=0.1, clinician_grace_s=1
    )


async def test_dropped_clinician_is_released_after_grace(sign_in: SignInFactory) -> None:
    """After the grace period the request is back in the queue and the clinician offline."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    socket = await connect(clinician)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    await socket.close()
    await asyncio.sleep(0.3)
    _, during = await officer.get(f"/api/v1/requests/{rid}")
    assert during["status"] == "in_session"
    await asyncio.sleep(1.5)
    _, after = await officer.get(f"/api/v1/requests/{rid}")
    assert after["status"] == "waiting" and after["position"] == 1
    _, availability = await clinician.get("/api/v1/availability")
    assert availability["status"] == "offline"


async def test_reconnecting_clinician_keeps_the_session(sign_in: SignInFactory) -> None:
    """A clinician who reconnects within the grace period keeps the session."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    first = await connect(clinician)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    await first.close()
    await asyncio.sleep(0.3)
    second = await connect(clinician)
    await asyncio.sleep(1.5)
    _, record = await officer.get(f"/api/v1/requests/{rid}")
    assert record["status"] == "in_session"
    await second.close()
