"""Telling clinicians of transfers: the offer to the colleague, its end to both."""

from __future__ import annotations

from triage_service.domain.transfer_offers import TransferOffered
from triage_service.domain.transfers import Clinician
from triage_service.live.hub import Hub
from triage_service.service import records
from triage_service.service.transfer_view import pending_of
from triage_service.store import Request
from triage_service.store.wakes import TransferWake


def offered(record: Request, now_ms: int) -> TransferOffered | None:
    """What the offered colleague is shown of a pending offer (None when there is none): the
    request's summary as the queue shows it, who offers it, the note and when it lapses."""
    pending = pending_of(record)
    if pending is None:
        return None
    return TransferOffered(
        request_id=record.id,
        request=records.queue_item(record, now_ms),
        **pending.model_dump(),
    )


async def tell_transfer(hub: Hub, wake: TransferWake, record: Request | None, now_ms: int) -> None:
    """`transfer.offered` to the colleague (re-read from the record: only a pending offer is
    told), or `transfer.{state}` to both clinicians when it ended."""
    if wake.state == "offered":
        offer = offered(record, now_ms) if record is not None else None
        if offer is not None:
            message = {"type": "transfer.offered", **offer.model_dump(mode="json")}
            await hub.send_to_user(offer.offered_to.id, message)
        return
    names = wake.names
    message = {
        "type": f"transfer.{wake.state}",
        "request_id": wake.request_id,
        "offered_by": Clinician(id=names["from_id"], display_name=names["from_name"]).model_dump(),
        "offered_to": Clinician(
            id=names["colleague_id"], display_name=names["colleague_name"]
        ).model_dump(),
    }
    for user_id in wake.to:
        await hub.send_to_user(user_id, message)
