"""Chat messages, one list per request (oldest first)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from triage_service.domain.idempotency import Idempotency
from triage_service.store.base import Client, Part, Run, texts
from triage_service.store.keys import Keys
from triage_service.store.wakes import ChatWake


class Chat(Part):
    """A request's messages as JSON strings."""

    def __init__(self, client: Client, keys: Keys, run: Run) -> None:
        super().__init__(client, keys)
        self._run = run

    async def messages(self, request_id: str) -> list[str]:
        """All messages of a request (JSON), oldest first."""
        return texts(await self.client.lrange(self.keys.messages(request_id), 0, -1))

    async def append(
        self,
        request_id: str,
        message_json: str,
        event: Mapping[str, str | int],
        wake: ChatWake,
        *,
        now_ms: int,
        open_only: bool = False,
        waiting_only: bool = False,
        idempotency: Idempotency | None = None,
    ) -> tuple[str, bool]:
        """Append a message, its event and its wake-up atomically (lua/message.lua); with
        `open_only`, only to a waiting or in-session request (else `Refused`); with
        `waiting_only`, only to a waiting one (and kept in the access log). The message as
        stored and whether this was the repeat of an earlier key (then nothing was added)."""
        flat = [str(part) for pair in event.items() for part in pair]
        result = await self._run(
            "message",
            now_ms,
            request_id,
            message_json,
            json.dumps(flat),
            wake.to_json(),
            "waiting" if waiting_only else "1" if open_only else "",
            idempotency=idempotency,
        )
        return str(result["message"]), bool(result.get("repeated"))
