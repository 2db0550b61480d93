"""The fallback timer: when a waiting request passes its priority's fallback time, its officer
is told at once (a `fallback` wake-up) that the phone line is there."""

from __future__ import annotations

from triage_service.domain.codes import RequestStatus
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.wakes import FallbackWake


def fallback_timer(
    settings: Settings, request_id: str, priority: int, created_ms: int
) -> dict[str, int]:
    """The request's fallback timer (`due` member and time) for its priority, if it has one;
    the create script sets it in the same step as the request (lua/create.lua)."""
    after_s = settings.fallback_thresholds.get(priority)
    if after_s is None:
        return {}
    return {f"fallback:{request_id}": created_ms + after_s * 1000}


async def fallback_due(store: Store, request_id: str) -> bool:
    """The fallback time passed: wake the instances so the officer hears it (once)."""
    if not await store.timers.drop(f"fallback:{request_id}"):
        return False  # another instance fired it
    if await store.requests.status(request_id) is not RequestStatus.WAITING:
        return False
    await store.publish(FallbackWake(request_id))
    return True
