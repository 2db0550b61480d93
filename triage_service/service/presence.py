"""Clinician presence as leases: each open socket holds a lease in Redis that its instance
renews; a clinician with no live lease anywhere keeps their sessions for a grace period,
then they are released back to the queue and the clinician is marked offline.

An instance that dies takes its leases with it by expiry, not by its own clean-up: the
sweep of lapsed leases (`reap_lapsed_leases`, run by every instance's sweeper) starts the
grace timer for it. Connect, disconnect, renewal, the sweep and the grace claim are each one
atomic script (`store/lua/presence.lua`), so a socket opened on one instance while another
closes can never be lost between steps.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.lifecycle import RELEASED_MIN_REMAINING_MS
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.presence import Staffing
from triage_service.store.wakes import AvailabilityWake

log = logging.getLogger(__name__)
REAP_BATCH = 100
LOST_CONNECTION = "clinician connection lost"


def new_lease() -> str:
    """A random lease id for one socket."""
    return secrets.token_hex(8)


def holds_lease(user: User) -> bool:
    """Only clinicians' sockets hold presence leases (their sessions depend on it)."""
    return user.role is Role.CLINICIAN


async def renew_leases(
    store: Store, settings: Settings, leases: Sequence[tuple[str, str]], *, now_ms: int
) -> None:
    """Take or renew `(user id, lease)` leases for another `presence_lease_s`; cancels any
    pending grace timer of those users (they are connected after all)."""
    if leases:
        await store.presence.hold(leases, ttl_ms=settings.presence_lease_s * 1000, now_ms=now_ms)


async def clinician_connected(
    store: Store, settings: Settings, user: User, lease: str, *, now_ms: int
) -> None:
    """A clinician socket opened (on any instance): take its lease."""
    if holds_lease(user):
        await renew_leases(store, settings, [(user.id, lease)], now_ms=now_ms)


async def clinician_disconnected(
    store: Store, settings: Settings, user: User, lease: str, *, now_ms: int
) -> bool:
    """A clinician socket closed: drop its lease; True if that left the clinician without a
    live lease anywhere, so the grace timer started."""
    if not holds_lease(user):
        return False
    grace_ms = settings.clinician_grace_s * 1000
    return await store.presence.drop(user.id, lease, grace_ms=grace_ms, now_ms=now_ms)


async def reap_lapsed_leases(store: Store, settings: Settings, *, now_ms: int) -> list[str]:
    """Start the grace timer of clinicians whose every lease lapsed (their instance died or
    stopped renewing); return their ids."""
    grace_ms = settings.clinician_grace_s * 1000
    return await store.presence.reap(grace_ms=grace_ms, limit=REAP_BATCH, now_ms=now_ms)


async def clinicians_on_duty(store: Store, *, now_ms: int, board: str = "") -> int:
    """Clinicians available or busy who hold a live lease (a socket open somewhere); with
    a `board`, only those covering it."""
    return (await staffing(store, now_ms=now_ms, board=board)).on_duty


async def staffing(store: Store, *, now_ms: int, board: str = "") -> Staffing:
    """The clinicians a request is offered to (with a `board`: those covering it), counted
    for the wait estimate and the safety net."""
    return await store.presence.staffing(board=board, now_ms=now_ms)


async def grace_expired(store: Store, clinician_id: str, *, now_ms: int) -> bool:
    """The clinician did not come back: release their sessions and mark them offline.

    One atomic step claims the timer (checking that no lease came back, so exactly one
    instance fires it, and never for a clinician who is connected), hands every session
    back to the queue and sets the clinician offline: an instance that dies at any point
    leaves either the timer still due or the whole change made, never sessions held by
    nobody.
    """
    claim = await store.presence.claim(
        clinician_id,
        reason=LOST_CONNECTION,
        min_remaining_ms=RELEASED_MIN_REMAINING_MS,
        now_ms=now_ms,
    )
    for request_id in claim.released:
        log.info("released %s: clinician %s lost connection", request_id, clinician_id)
    return claim.claimed


async def presence_changed(store: Store, user: User) -> None:
    """Wake every instance when a clinician's sockets come or go: who is on duty may change."""
    if user.role is Role.CLINICIAN:
        await store.publish(AvailabilityWake())
