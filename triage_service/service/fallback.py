"""The fallback timer: when a waiting request passes its priority's fallback time, its officer
is told at once (a `fallback` wake-up) that the phone line is there."""

from __future__ import annotations

from triage_service.settings import Settings
from triage_service.store import RequestRecord, Store
from triage_service.store.wakes import FallbackWake


async def schedule_fallback(store: Store, settings: Settings, record: RequestRecord) -> None:
    """Set the request's fallback timer (a `due` entry swept by whichever instance is first)."""
    after_s = settings.fallback_thresholds.get(int(record["priority"]))
    if after_s is None:
        return
    due_ms = int(record["created_ms"]) + after_s * 1000
    await store.timers.set(f"fallback:{record['id']}", due_ms)


async def fallback_due(store: Store, request_id: str) -> bool:
    """The fallback time passed: wake the instances so the officer hears it (once)."""
    if not await store.timers.drop(f"fallback:{request_id}"):
        return False  # another instance fired it
    (found,) = await store.requests.fields_of([request_id], ("status",))
    if found["status"] != "waiting":
        return False
    await store.publish(FallbackWake(request_id))
    return True
