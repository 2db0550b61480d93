"""Previous contacts: the earlier requests a request is linked to (lua/create.lua links them,
lua/person_link.lua records a clinician's verdict on a possible match)."""

from __future__ import annotations

from triage_service.store.base import Part, texts


class Contacts(Part):
    """A request's links to the same person's earlier requests."""

    async def links(self, request_id: str) -> list[tuple[str, str]]:
        """How each earlier contact was linked (`chi`, `name_dob`, `confirmed`, `rejected`)
        and its request id, newest first."""
        members = texts(await self.client.zrevrange(self.keys.person_links(request_id), 0, -1))
        return [(by, contact) for by, _, contact in (m.partition(":") for m in members)]
