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

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from triage_service.domain.codes import Availability, Role
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.users import User
from triage_service.service.accounts import get_user
from triage_service.service.lifecycle import release_request, set_availability
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.wakes import AvailabilityWake

log = logging.getLogger(__name__)
REAP_BATCH = 100


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
        await store.run(
            "presence", now_ms, "hold", _json_pairs(leases), settings.presence_lease_s * 1000
        )


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
    result = await store.run(
        "presence", now_ms, "drop", user.id, lease, settings.clinician_grace_s * 1000
    )
    return bool(result["grace"])


async def reap_lapsed_leases(store: Store, settings: Settings, *, now_ms: int) -> list[str]:
    """Start the grace timer of clinicians whose every lease lapsed (their instance died or
    stopped renewing); return their ids."""
    result = await store.run(
        "presence", now_ms, "reap", settings.clinician_grace_s * 1000, REAP_BATCH
    )
    return list(result.get("graced") or [])


async def clinicians_on_duty(store: Store, *, now_ms: int, board: str = "") -> int:
    """Clinicians available or busy who hold a live lease (a socket open somewhere); with
    a `board`, only those covering it."""
    return (await staffing(store, now_ms=now_ms, board=board)).on_duty


@dataclass(frozen=True, slots=True)
class Staffing:
    """Who could answer a request: on duty (live lease), and available or busy by state."""

    on_duty: int
    available: int
    busy: int
    returning: int  # no socket open, but within their grace period (moving between pages)


async def staffing(store: Store, *, now_ms: int, board: str = "") -> Staffing:
    """The clinicians a request is offered to (with a `board`: those covering it), counted
    for the wait estimate and the safety net."""
    result = await store.run("presence", now_ms, "on_duty", board)
    return Staffing(
        int(result["on_duty"]),
        int(result["available"]),
        int(result["busy"]),
        int(result["returning"]),
    )


async def grace_expired(store: Store, clinician_id: str, *, now_ms: int) -> bool:
    """The clinician did not come back: release their sessions and mark them offline.

    The timer is claimed atomically with the check that no lease came back, so exactly one
    instance fires it, and never for a clinician who is connected.
    """
    result = await store.run("presence", now_ms, "claim", clinician_id)
    if not result["claimed"]:
        return False
    clinician = await get_user(store, clinician_id)
    if clinician is None:
        return False
    for request_id in await store.clinicians.in_session(clinician_id):
        log.info("releasing %s: clinician %s lost connection", request_id, clinician_id)
        try:
            await release_request(
                store,
                clinician,
                request_id,
                "clinician connection lost",
                now_ms=now_ms,
                actor_role="system",
            )
        except (NotFound, Conflict) as e:  # filed or released meanwhile: nothing to do
            log.info("not releasing %s: %s", request_id, e.message)
    await set_availability(store, clinician, Availability.OFFLINE, now_ms=now_ms)
    return True


def _json_pairs(leases: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(pair) for pair in leases])


async def presence_changed(store: Store, user: User) -> None:
    """Wake every instance when a clinician's sockets come or go: who is on duty may change."""
    if user.role is Role.CLINICIAN:
        await store.publish(AvailabilityWake())
