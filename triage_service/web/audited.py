"""Audited reads: an endpoint declared `audited="action"` hands its view an `AccessLog` bound
to the reader, the action, the request's `X-Access-Reason` and the clock. The view records
what it read before it answers; the endpoint refuses a success that recorded nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from triage_service.domain.times import Clock
from triage_service.domain.users import User
from triage_service.service.audit import record_accesses
from triage_service.store import Store
from triage_service.web.state import CLOCK, STORE

REASON_HEADER = "X-Access-Reason"


@dataclass(slots=True)
class AccessLog:
    """Where one read of personal or board data is logged, and whether it was."""

    store: Store
    user: User
    action: str
    reason: str | None
    clock: Clock
    recorded: bool = False

    @classmethod
    def of(cls, request: web.Request, user: User, action: str) -> AccessLog:
        """The access log of `user`'s request, for reads of kind `action`."""
        reason = request.headers.get(REASON_HEADER)
        return cls(request.app[STORE], user, action, reason, request.app[CLOCK])

    async def record(
        self,
        request_ids: Sequence[str | None] = (None,),
        *,
        action: str | None = None,
        detail: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """Log one entry per request read (the default: one entry of no request, e.g. an
        export, with its `detail`); `action` for a second kind of read in the same answer."""
        await record_accesses(
            self.store,
            self.user,
            action=action or self.action,
            now_ms=self.clock(),
            request_ids=list(request_ids),
            reason=self.reason,
            detail=detail,
            extra=extra,
        )
        self.recorded = True
