"""Transfer rules: how long an offer waits, and why a colleague cannot take a request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from triage_service.domain.models import Strict, UtcDatetime
from triage_service.domain.times import to_datetime

OFFER_S = 60  # an offer lapses back to the first clinician after this long

# Why a colleague cannot take a request over now, as the script answers (lua/_transfers.lua).
COLLEAGUE_REFUSALS = {
    "same_clinician": "You cannot transfer a request to yourself.",
    "not_a_clinician": "No such clinician.",
    "not_on_duty": "This colleague is not on duty (available with the console open).",
    "not_covering_board": "This colleague does not cover the request's board.",
    "in_session": "This colleague is in another session.",
}


def colleague_refusal(code: str) -> str | None:
    """The plain-language reason for a refused colleague (None: not a colleague problem)."""
    return COLLEAGUE_REFUSALS.get(code)


class Clinician(BaseModel):
    """A clinician as the record names them."""

    id: str
    display_name: str


class Colleague(Clinician):
    """A colleague on duty one could hand a request to, with the boards they cover."""

    team: str


class Colleagues(BaseModel):
    colleagues: list[Colleague]


class TransferStep(BaseModel):
    """One hand-over of a request in session from one clinician to another."""

    from_clinician: Clinician
    to_clinician: Clinician
    at: UtcDatetime
    note: str | None = None


class PendingTransfer(BaseModel):
    """An offer waiting for the colleague's answer (it lapses at `expires_at`)."""

    offered_by: Clinician
    offered_to: Clinician
    note: str | None = None
    offered_at: UtcDatetime
    expires_at: UtcDatetime


class TransferForm(Strict):
    """`POST /api/v1/requests/{id}/transfer`: the colleague (a user id) and a short note."""

    to: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


def steps_of(found: Sequence[Mapping[str, Any]]) -> list[TransferStep]:
    """The hand-overs stored with a request (oldest first)."""
    return [
        TransferStep(
            from_clinician=Clinician(id=s["from"], display_name=s.get("from_name") or ""),
            to_clinician=Clinician(id=s["to"], display_name=s.get("to_name") or ""),
            at=time_of(s["at"]),
            note=s.get("note") or None,
        )
        for s in found
    ]


def clinicians_of(steps: list[TransferStep], current: Clinician | None) -> list[Clinician]:
    """Every clinician the request passed through, in order (the first, then each taker)."""
    if steps:
        return [steps[0].from_clinician, *(s.to_clinician for s in steps)]
    return [current] if current else []


def time_of(ms: str | int | None) -> datetime:
    found = to_datetime(ms)
    if found is None:
        raise ValueError("a transfer without its time")
    return found
