"""Transfers: the clinician in session hands the request to a named colleague on duty, who
accepts or declines within `OFFER_S`; each step is one script (lua/transfer_*.lua)."""

from __future__ import annotations

import secrets

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import AuthorOut, MessageOut
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.times import to_datetime
from triage_service.domain.transfers import OFFER_S, Colleague, colleague_refusal
from triage_service.domain.users import User
from triage_service.store import Refused, Request, Store, record_of
from triage_service.store.changes import AcceptTransfer, EndTransfer, OfferTransfer, ScriptCall
from triage_service.store.wakes import ChatWake

CONFLICTS = {
    "not_in_session": "The request is not in session.",
    "transfer_pending": "An offer to a colleague is already waiting for an answer.",
    "offer_lapsed": "The offer lapsed or was withdrawn; the first clinician keeps the request.",
    "already_in_session": "You are in a session already: file its outcome or release it first.",
}


async def offer_transfer(
    store: Store,
    clinician: User,
    request_id: str,
    colleague_id: str,
    note: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> Request:
    """Offer the request in session to `colleague_id`; it lapses after `OFFER_S` (a repeated
    key answers the request as it now stands, and offers nothing again)."""
    call = OfferTransfer(
        request_id=request_id,
        clinician_id=clinician.id,
        clinician_name=clinician.display_name,
        colleague_id=colleague_id,
        note=note,
        expires_ms=now_ms + OFFER_S * 1000,
    )
    return await _change(store, call, now_ms, idempotency)


async def accept_transfer(
    store: Store,
    colleague: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> Request:
    """The offered colleague becomes the assigned clinician (with a note in the chat); a
    retry with the same key after a lost answer answers the request they now hold."""
    note = MessageOut(
        id=secrets.token_hex(8),
        request_id=request_id,
        author=AuthorOut(id="system", display_name="Triage service", role="system"),
        text=f"{colleague.display_name} has taken over the call.",
        created_at=to_datetime(now_ms),
    )
    wake = ChatWake(request_id, note.model_dump(mode="json"))
    call = AcceptTransfer(
        request_id=request_id,
        colleague_id=colleague.id,
        message_json=note.model_dump_json(),
        wake_json=wake.to_json(),
    )
    return await _change(store, call, now_ms, idempotency)


async def decline_transfer(
    store: Store,
    colleague: User,
    request_id: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> Request:
    """The offered colleague says no; the first clinician keeps the request."""
    call = EndTransfer(request_id=request_id, colleague_id=colleague.id, state="declined")
    return await _change(store, call, now_ms, idempotency)


async def lapse_transfer(store: Store, request_id: str, *, now_ms: int) -> bool:
    """The offer's timer fired: end it if it is still pending and due; whether it did."""
    try:
        await store.change(
            EndTransfer(request_id=request_id, colleague_id=None, state="lapsed"), now_ms=now_ms
        )
    except Refused:
        return False
    return True


async def offers_to(store: Store, colleague: User, *, now_ms: int) -> list[Request]:
    """The requests whose pending offer waits for `colleague`'s answer."""
    found = await store.requests.load_many(await store.requests.in_session())
    return [
        r
        for r in found
        if r.transfer_to == colleague.id
        and r.transfer_from == r.clinician_id
        and (r.transfer_expires_ms or 0) > now_ms
    ]


async def colleagues(
    store: Store, areas: AreaDirectory, clinician: User, request_id: str, *, now_ms: int
) -> list[Colleague]:
    """The colleagues on duty the clinician could hand this request to now, by name, with
    the boards they cover as their team."""
    result = await store.run("transfer_colleagues", now_ms, request_id, clinician.id)
    found = result.get("colleagues") or []
    return sorted(
        (
            Colleague(
                id=c["id"],
                display_name=c["display_name"],
                team=", ".join(areas.board_of(b).name for b in c["boards"].split(",") if b)
                or "All boards",
            )
            for c in (found if isinstance(found, list) else [])
        ),
        key=lambda c: c.display_name.lower(),
    )


async def _change(
    store: Store, call: ScriptCall, now_ms: int, idempotency: Idempotency | None
) -> Request:
    try:
        result = await store.change(call, now_ms=now_ms, idempotency=idempotency)
    except Refused as e:
        raise _refusal(e) from e
    record = record_of(result)
    if record is None:
        raise NotFound()
    return record


def _refusal(e: Refused) -> Exception:
    if e.code == "not_found":
        return NotFound()
    if e.code == "idempotency_key_reused":
        return idem.reused()
    if e.code == "not_assigned":
        return Forbidden("not_assigned", "Only the clinician in session can transfer it.")
    refusal = colleague_refusal(e.code)
    if refusal is not None:
        return Invalid("colleague_unavailable", refusal, {"to": refusal})
    return Conflict(e.code, CONFLICTS.get(e.code, f"Not allowed now: {e.code}."))
