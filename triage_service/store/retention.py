"""Retention: the purge of identifying fields, one request at a time, with its audit entry."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry, maybe_text


class Retention(Part):
    """The purge cursor and the purge itself."""

    async def cursor(self) -> str | None:
        """The creation time of the last purged request, if any."""
        return maybe_text(await self.client.get(self.keys.retention_cursor))

    async def identifying(
        self, request_id: str
    ) -> tuple[str | None, str | None, str | None, str | None]:
        """A request's form, outcome, referral id and transfers (the fields a purge rewrites),
        in one round trip."""
        form, outcome, referral_id, transfers = await self.client.hmget(
            self.keys.request(request_id), "form", "outcome", "referral_id", "transfers"
        )
        return (
            maybe_text(form),
            maybe_text(outcome),
            maybe_text(referral_id),
            maybe_text(transfers),
        )

    async def purge(
        self,
        request_id: str,
        *,
        form: str | None,
        outcome: str | None,
        referral_id: str | None,
        transfers: str | None = None,
        created_ms: int,
        now_ms: int,
        audit: Mapping[str, str | int],
    ) -> None:
        """Write the purged form and outcome, clear the referral's contact, note and decline
        reason, the officer's feedback comment, the s298 note, the chat and who else was in the
        call, move the cursor
        and audit it, atomically (MULTI)."""
        keys = self.keys
        async with self.client.pipeline(transaction=True) as pipe:
            if form:
                pipe.hset(keys.request(request_id), mapping={"form": form, "purged_ms": now_ms})
            if outcome:
                pipe.hset(keys.request(request_id), "outcome", outcome)
            if referral_id:
                pipe.hset(
                    keys.referral(referral_id),
                    mapping={"contact": "", "note": "", "decline_reason": ""},
                )
            # A transfer's notes go; who handed the call to whom stays (`transfers`).
            pipe.hdel(keys.request(request_id), "transfer_note")
            if transfers:
                pipe.hset(keys.request(request_id), "transfers", transfers)
            pipe.hdel(keys.request(request_id), "feedback_comment", "pos_note")
            pipe.delete(keys.messages(request_id))
            # who else was in the call (consultants, guests by name)
            pipe.delete(keys.call_people(request_id), keys.call_history(request_id))
            pipe.set(keys.retention_cursor, created_ms)
            pipe.xadd(keys.audit, entry(audit))
            await pipe.execute()
