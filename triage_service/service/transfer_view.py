"""A request's transfers as its readers see them: the clinicians it passed through, each
hand-over and the pending offer (the rules and models are in domain/transfers.py)."""

from __future__ import annotations

from triage_service.domain.transfers import (
    Clinician,
    PendingTransfer,
    clinicians_of,
    steps_of,
    time_of,
)
from triage_service.store import Request


def pending_of(record: Request) -> PendingTransfer | None:
    """The offer waiting for an answer in a request's record, if any (a stale one, made in a
    session that is over, is none)."""
    if not record.transfer_to or not record.transfer_from:
        return None
    if record.transfer_from != record.clinician_id:
        return None
    return PendingTransfer(
        offered_by=Clinician(id=record.transfer_from, display_name=record.transfer_from_name or ""),
        offered_to=Clinician(id=record.transfer_to, display_name=record.transfer_to_name or ""),
        note=record.transfer_note,
        offered_at=time_of(record.transfer_offered_ms),
        expires_at=time_of(record.transfer_expires_ms),
    )


def record_view(record: Request) -> dict[str, object]:
    """The request's transfer fields (`RequestOut`): the clinicians it passed through, each
    hand-over, and the pending offer."""
    steps = steps_of(record.transfers)
    current = (
        Clinician(id=record.clinician_id, display_name=record.clinician_name or "")
        if record.clinician_id
        else None
    )
    return {
        "clinicians": clinicians_of(steps, current),
        "transfers": steps,
        "transfer": pending_of(record),
    }


def clinician_names(record: Request) -> list[str]:
    """The names of every clinician the request passed through, in order."""
    view = record_view(record)["clinicians"]
    return [c.display_name for c in view] if isinstance(view, list) else []
