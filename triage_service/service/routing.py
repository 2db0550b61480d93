"""The overflow timer: when a waiting request passes its overflow time it is offered to every
clinician, and the instances are woken (an `overflowed` wake-up) to tell those it is new to."""

from __future__ import annotations

from triage_service.store import RequestRecord, Store
from triage_service.store.wakes import RequestWake

OVERFLOWED = "overflowed"


async def schedule_overflow(store: Store, record: RequestRecord, *, now_ms: int) -> None:
    """Set the request's overflow timer when it is offered within its board for a while."""
    overflow_ms = int(record.get("overflow_ms") or 0)
    if record.get("board") and overflow_ms > now_ms:
        await store.timers.set(f"overflow:{record['id']}", overflow_ms)


async def overflow_due(store: Store, request_id: str) -> bool:
    """The overflow time passed: wake the instances so every clinician hears of it (once)."""
    if not await store.timers.drop(f"overflow:{request_id}"):
        return False  # another instance fired it
    (found,) = await store.requests.fields_of([request_id], ("status",))
    if found["status"] != "waiting":
        return False
    await store.publish(RequestWake(OVERFLOWED, request_id, "system"))
    return True
