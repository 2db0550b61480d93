"""The overflow timer: when a waiting request passes its overflow time it is offered to every
clinician, and the instances are woken (an `overflowed` wake-up) to tell those it is new to."""

from __future__ import annotations

from triage_service.domain.codes import RequestStatus
from triage_service.store import Store
from triage_service.store.wakes import RequestWake

OVERFLOWED = "overflowed"


def overflow_timer(request_id: str, *, board: str, overflow_ms: int, now_ms: int) -> dict[str, int]:
    """The request's overflow timer (`due` member and time) when it is offered within its
    board for a while; set in the same step as the request (lua/create.lua)."""
    if board and overflow_ms > now_ms:
        return {f"overflow:{request_id}": overflow_ms}
    return {}


async def overflow_due(store: Store, request_id: str) -> bool:
    """The overflow time passed: wake the instances so every clinician hears of it (once)."""
    if not await store.timers.drop(f"overflow:{request_id}"):
        return False  # another instance fired it
    if await store.requests.status(request_id) is not RequestStatus.WAITING:
        return False
    await store.publish(RequestWake(OVERFLOWED, request_id, "system"))
    return True
