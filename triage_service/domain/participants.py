"""What the participants API takes and answers: consults, guest links, who is in a call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from triage_service.domain.models import Strict, UtcDatetime

GuestRole = Literal["interpreter", "person", "other"]


class ConsultForm(Strict):
    to: str = Field(min_length=1, max_length=64, description="The colleague's user id")


class GuestForm(Strict):
    display_name: str = Field(min_length=1, max_length=80)
    role: GuestRole
    expires_in_s: int | None = Field(
        default=None, ge=60, le=12 * 3600, description="Sooner than the end of the session"
    )


class PersonOut(BaseModel):
    id: str
    role: Literal["officer", "clinician", "consultant", "guest"]
    display_name: str
    guest_role: GuestRole | None = None


class ParticipantsOut(BaseModel):
    request_id: str
    status: str
    me: str = Field(description="The reader's own participant id")
    people: list[PersonOut]
    everyone: list[PersonOut] = Field(
        default_factory=list,
        description="Everyone ever in the call, those who left included (the record's list)",
    )


class GuestLinkOut(BaseModel):
    id: str
    url: str = Field(description="Single use; opens the guest page (call and chat only)")
    expires_at: UtcDatetime


class ColleaguesOut(BaseModel):
    colleagues: list[PersonOut] = Field(description="Clinicians on duty who may be asked")
