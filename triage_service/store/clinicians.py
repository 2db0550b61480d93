"""Clinicians: availability and the requests each has in session (presence leases and
grace timers are the `presence` script's: `lua/presence.lua`)."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry, maybe_text, texts
from triage_service.store.wakes import AvailabilityWake


class Clinicians(Part):
    """The `clin:state` and `clin:names` hashes and the clinicians' sessions."""

    async def availability(self, clinician_id: str) -> str | None:
        """The clinician's availability as stored, or None if never set."""
        return maybe_text(await self.client.hget(self.keys.clin_state, clinician_id))

    async def set_availability(
        self, clinician_id: str, display_name: str, status: str, event: Mapping[str, str | int]
    ) -> None:
        """Record the availability, its event and its wake-up, atomically (MULTI)."""
        keys = self.keys
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.clin_state, clinician_id, status)
            pipe.hset(keys.clin_names, clinician_id, display_name)
            pipe.xadd(keys.events, entry(event))
            pipe.publish(keys.wake, AvailabilityWake().to_json())
            await pipe.execute()

    async def in_session(self, clinician_id: str) -> set[str]:
        """The ids of the requests the clinician has in session."""
        return set(texts(await self.client.smembers(self.keys.clinician_sessions(clinician_id))))
