"""Clinician presence: a session survives a dropped socket for a grace period, then is
released back to the queue and the clinician is marked offline."""

from __future__ import annotations

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
    await store.clinicians.connected(user.id)


async def clinician_disconnected(
    store: Store, settings: Settings, user: User, *, now_ms: int
) -> None:
    """When a clinician's last socket closes, start the grace timer."""
    if user.role is not Role.CLINICIAN:
        return
    await store.clinicians.disconnected(
        user.id, grace_until_ms=now_ms + settings.clinician_grace_s * 1000
    )


async def grace_expired(store: Store, clinician_id: str, *, now_ms: int) -> bool:
    """The clinician did not come back: release their sessions and mark them offline."""
    if not await store.clinicians.end_grace(clinician_id):
        return False  # another instance fired it, or the clinician reconnected
    if await store.clinicians.sockets(clinician_id) > 0:
        return False
    clinician = await get_user(store, clinician_id)
    if clinician is None:
        return False
    for request_id in await store.clinicians.in_session(clinician_id):
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
