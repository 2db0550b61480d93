"""Chat messages, one list per request (oldest first)."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry, texts
from triage_service.store.wakes import ChatWake


class Chat(Part):
    """A request's messages as JSON strings."""

    async def messages(self, request_id: str) -> list[str]:
        """All messages of a request (JSON), oldest first."""
        return texts(await self.client.lrange(self.keys.messages(request_id), 0, -1))

    async def append(
        self, request_id: str, message_json: str, event: Mapping[str, str | int], wake: ChatWake
    ) -> None:
        """Append a message, its event and its wake-up, atomically (MULTI)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(self.keys.messages(request_id), message_json)
            pipe.xadd(self.keys.events, entry(event))
            pipe.publish(self.keys.wake, wake.to_json())
            await pipe.execute()
