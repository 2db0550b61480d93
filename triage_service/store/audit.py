"""The access log (DPA 2018 s.62): an append-only stream."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry


class Audit(Part):
    """Appends to the `audit` stream; nothing here edits or deletes."""

    async def append(self, fields: Mapping[str, str | int]) -> None:
        """Append one access entry."""
        await self.client.xadd(self.keys.audit, entry(fields))
