"""What the offered colleague is shown of a transfer offer (`transfer.offered`,
`GET /api/v1/transfers`)."""

from __future__ import annotations

from pydantic import BaseModel

from triage_service.domain.answers import QueueItem
from triage_service.domain.transfers import PendingTransfer


class TransferOffered(PendingTransfer):
    """A pending offer with the request's summary, as the queue shows it."""

    request_id: str
    request: QueueItem


class TransferOffers(BaseModel):
    """The offers waiting for this clinician's answer."""

    offers: list[TransferOffered]
