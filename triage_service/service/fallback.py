"""The fallback timer: when a waiting request passes its priority's fallback time, its officer
is told at once (a `fallback` wake-up) that the phone line is there."""

from __future__ import annotations

import json

from triage_service.service.records import Record
from triage_service.settings import Settings
from triage_service.store.store import Store


async def schedule_fallback(store: Store, settings: Settings, record: Record) -> None:
    """Set the request's fallback timer (a `due` entry swept by whichever instance is first)."""
    after_s = settings.fallback_thresholds.get(int(record["priority"]))
    if after_s is None:
        return
    due_ms = int(record["created_ms"]) + after_s * 1000
    await store.client.zadd(store.keys("due"), {f"fallback:{record['id']}": due_ms})


async def fallback_due(store: Store, request_id: str) -> bool:
    """The fallback time passed: wake the instances so the officer hears it (once)."""
    if not await store.client.zrem(store.keys("due"), f"fallback:{request_id}"):
        return False  # another instance fired it
    if await store.client.hget(store.keys.request(request_id), "status") != "waiting":
        return False
    await store.client.publish(
        store.keys("wake"), json.dumps({"type": "fallback", "request_id": request_id})
    )
    return True
