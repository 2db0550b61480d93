"""Clinician presence: a session survives a dropped socket for a grace period, then is
released back to the queue and the clinician is marked offline."""

from __future__ import annotations

import json
import logging

from triage_service.domain.codes import Availability, Role
from triage_service.domain.users import User
from triage_service.service.accounts import get_user
from triage_service.service.lifecycle import release_request, set_availability
from triage_service.settings import Settings
from triage_service.store.store import Store

log = logging.getLogger(__name__)


async def clinician_connected(store: Store, user: User) -> None:
    """Count a clinician socket (any instance) and cancel a pending grace timer."""
    if user.role is not Role.CLINICIAN:
        return
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hincrby(store.keys("presence"), user.id, 1)
        pipe.zrem(store.keys("due"), f"grace:{user.id}")
        await pipe.execute()


async def clinician_disconnected(
    store: Store, settings: Settings, user: User, *, now_ms: int
) -> None:
    """When a clinician's last socket closes, start the grace timer."""
    if user.role is not Role.CLINICIAN:
        return
    remaining = await store.client.hincrby(store.keys("presence"), user.id, -1)
    if remaining <= 0:
        await store.client.hdel(store.keys("presence"), user.id)
        await store.client.zadd(
            store.keys("due"), {f"grace:{user.id}": now_ms + settings.clinician_grace_s * 1000}
        )


async def grace_expired(store: Store, clinician_id: str, *, now_ms: int) -> bool:
    """The clinician did not come back: release their sessions and mark them offline."""
    if not await store.client.zrem(store.keys("due"), f"grace:{clinician_id}"):
        return False  # another instance fired it, or the clinician reconnected
    if int(await store.client.hget(store.keys("presence"), clinician_id) or 0) > 0:
        return False
    clinician = await get_user(store, clinician_id)
    if clinician is None:
        return False
    for request_id in await store.client.smembers(store.keys.clinician_sessions(clinician_id)):
        log.info("releasing %s: clinician %s lost connection", request_id, clinician_id)
        await release_request(
            store,
            clinician,
            request_id,
            "clinician connection lost",
            now_ms=now_ms,
            actor_role="system",
        )
    await set_availability(store, clinician, Availability.OFFLINE, now_ms=now_ms)
    return True


async def clinicians_on_duty(store: Store) -> int:
    """Clinicians available or busy with a live socket somewhere: who can answer now."""
    async with store.client.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys("clin:state"))
        pipe.hgetall(store.keys("presence"))
        states, sockets = await pipe.execute()
    on = (Availability.AVAILABLE.value, Availability.BUSY.value)
    return sum(1 for user, state in states.items() if state in on and int(sockets.get(user, 0)) > 0)


async def presence_changed(store: Store, user: User) -> None:
    """Wake every instance when a clinician's sockets come or go: who is on duty may change."""
    if user.role is Role.CLINICIAN:
        await store.client.publish(
            store.keys("wake"), json.dumps({"type": "availability", "request_id": ""})
        )
