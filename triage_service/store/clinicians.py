"""Clinicians: availability, open sockets (presence) and their grace timers, and the
requests each has in session."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry, maybe_text, texts
from triage_service.store.wakes import AvailabilityWake


def grace_timer(clinician_id: str) -> str:
    """The `due` member of a clinician's grace timer."""
    return f"grace:{clinician_id}"


class Clinicians(Part):
    """The `clin:state`, `clin:names` and `presence` hashes and the grace timers."""

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

    async def connected(self, clinician_id: str) -> None:
        """Count one more socket and cancel any grace timer, atomically (MULTI)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.keys.presence, clinician_id, 1)
            pipe.zrem(self.keys.due, grace_timer(clinician_id))
            await pipe.execute()

    async def disconnected(self, clinician_id: str, *, grace_until_ms: int) -> None:
        """Count one socket fewer; after the last, start the grace timer."""
        remaining = int(await self.client.hincrby(self.keys.presence, clinician_id, -1))
        if remaining <= 0:
            await self.client.hdel(self.keys.presence, clinician_id)
            await self.client.zadd(self.keys.due, {grace_timer(clinician_id): grace_until_ms})

    async def end_grace(self, clinician_id: str) -> bool:
        """Remove the clinician's grace timer; False if another instance already did."""
        return bool(await self.client.zrem(self.keys.due, grace_timer(clinician_id)))

    async def sockets(self, clinician_id: str) -> int:
        """How many sockets the clinician has open (any instance)."""
        return int(maybe_text(await self.client.hget(self.keys.presence, clinician_id)) or 0)
