"""Validation models for the REST API: they check requests and generate the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from triage_service.domain.codes import (
    AgeBand,
    Availability,
    Concern,
    Conveyance,
    Disposition,
    Mode,
    ReferralService,
    RiskLevel,
    Sex,
    TriageCode,
    Urgency,
)


def _as_utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as e:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("time is out of range") from e


def iso_z(value: datetime) -> str:
    """UTC ISO-8601 with a `Z`, millisecond precision."""
    return _as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc), PlainSerializer(iso_z, return_type=str)]
ShortText = Annotated[str, Field(max_length=200)]


def _trimmed_lengths(schema: dict[str, Any]) -> None:
    """Strings are trimmed before their length is checked, so a required length needs
    something other than whitespace: say so in the schema."""
    for prop in schema.get("properties", {}).values():
        for option in (prop, *prop.get("anyOf", ())):
            if option.get("type") == "string" and option.get("minLength", 0) >= 1:
                option.setdefault("pattern", r"\S")


class Strict(BaseModel):
    """Rejects unknown fields and trims surrounding whitespace."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_trimmed_lengths
    )


class Credentials(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Location(Strict):
    description: str = Field(min_length=1, max_length=200)
    area: str | None = Field(default=None, max_length=64)
    area_id: str | None = Field(
        default=None, max_length=32, description="an area id from GET /api/v1/areas"
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Subject(Strict):
    age_band: AgeBand = AgeBand.UNKNOWN
    sex: Sex = Sex.UNKNOWN
    known_name: str | None = Field(default=None, max_length=100)


class Cssrs(Strict):
    """The six-question C-SSRS screener; unanswered (skipped) questions are null."""

    q1: bool | None = None
    q2: bool | None = None
    q3: bool | None = None
    q4: bool | None = None
    q5: bool | None = None
    q6_lifetime: bool | None = None
    q6_recent: bool | None = None


class Screening(Strict):
    cssrs: Cssrs | None = None


class RequestForm(Strict):
    """What an officer sends to ask for an assessment."""

    incident_ref: str = Field(min_length=1, max_length=64)
    location: Location
    subject: Subject = Field(default_factory=Subject)
    urgency: Urgency
    concerns: list[Concern] = Field(default_factory=list, max_length=len(Concern))
    screening: Screening = Field(default_factory=Screening)
    mode: Mode
    consent: bool = Field(json_schema_extra={"const": True})
    notes: str = Field(default="", max_length=2000)

    @field_validator("consent")
    @classmethod
    def consent_given(cls, value: bool) -> bool:
        """The person must have agreed to a remote assessment."""
        if not value:
            raise PydanticCustomError("consent_required", "must be true")
        return value


class AvailabilityChange(Strict):
    status: Availability


class ReleaseForm(Strict):
    reason: str = Field(default="", max_length=500)


class MessageForm(Strict):
    text: str = Field(min_length=1, max_length=2000)


class Risk(Strict):
    to_self: RiskLevel
    to_others: RiskLevel
    from_others: RiskLevel | None = None
    self_neglect: RiskLevel | None = None


class ReferralForm(Strict):
    service: ReferralService
    urgency: Literal["A", "B", "C", "D", "E"]
    due_at: UtcDatetime | None = None
    contact: str | None = Field(default=None, max_length=200)


class PlaceOfSafety(Strict):
    """s297 removal: what s298 needs the Mental Welfare Commission to be told."""

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    is_police_station: bool
    police_station_reason: str | None = Field(default=None, max_length=1000)
    removed_at: UtcDatetime
    circumstances: str | None = Field(default=None, max_length=2000)
    person_name: str | None = Field(default=None, max_length=200)
    person_address: str | None = Field(default=None, max_length=300)
    nearest_relative_informed: bool | None = None
    local_authority_informed: bool | None = None


class OutcomeForm(Strict):
    """The clinician's structured outcome of an assessment."""

    triage_code: TriageCode
    disposition: Disposition
    risk: Risk
    conveyance: Conveyance = Conveyance.NONE
    summary: str = Field(default="", max_length=4000)
    advice_to_officer: str = Field(default="", max_length=1000)
    officer_released_at: UtcDatetime | None = None
    referral: ReferralForm | None = None
    place_of_safety: PlaceOfSafety | None = None
    override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=1000,
        description="why the outcome departs from the usual rules for its triage code",
    )


class ReferralUpdate(Strict):
    """Clinicians: accepted, completed, did_not_attend, cancelled; receiving teams: accepted,
    declined (with the reason as `note`), completed, did_not_attend."""

    status: Literal["accepted", "declined", "completed", "did_not_attend", "cancelled"]
    note: str | None = Field(default=None, max_length=1000, validate_default=True)

    @field_validator("note")
    @classmethod
    def decline_has_reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A declined referral says why (the triage team must find another way)."""
        if info.data.get("status") == "declined" and not value:
            raise PydanticCustomError("reason_required", "a declined referral needs a reason")
        return value


class FeedbackForm(Strict):
    """The officer's one question after an assessment: how useful it was."""

    useful: int = Field(ge=1, le=5, description="1 (not at all) to 5 (very useful)")
    time_saved_min: int | None = Field(default=None, ge=0, le=600)
    comment: str | None = Field(default=None, max_length=1000)


class ConnectionTestOffer(Strict):
    sdp: str = Field(min_length=1, max_length=20000)
    type: Literal["offer"]


# ---- query parameters ----------------------------------------------------------------------


# ---- answers -------------------------------------------------------------------------------


class AlarmAck(Strict):
    note: str | None = Field(default=None, max_length=1000)
