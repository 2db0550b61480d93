"""Renewing the presence leases of the sockets open on this instance, for as long as it runs.

If the instance dies or stalls, the renewals stop and the leases lapse; the sweep of lapsed
leases on any instance then starts the clinicians' grace timers (`service.presence`).
"""

from __future__ import annotations

import asyncio
import logging

from triage_service.domain.times import Clock
from triage_service.live.hub import Hub
from triage_service.service.presence import renew_leases
from triage_service.settings import Settings
from triage_service.store import STORE_ERRORS, Store

log = logging.getLogger(__name__)
RENEWALS_PER_LEASE = 3  # renew three times per lease lifetime, so one lost renewal is harmless


async def renew_forever(hub: Hub, store: Store, settings: Settings, clock: Clock) -> None:
    """Renew every held lease a few times per lease lifetime until cancelled."""
    while True:
        await asyncio.sleep(settings.presence_lease_s / RENEWALS_PER_LEASE)
        try:
            async with hub.lease_turns:
                await renew_leases(store, settings, hub.held_leases(), now_ms=clock())
        except STORE_ERRORS as e:
            log.warning("presence lease renewal failed, will retry: %s", e)
