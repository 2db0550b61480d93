"""Validation models for the REST API: they check requests and generate the OpenAPI schema."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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
    Counterfactual,
    Disposition,
    Mode,
    ReferralService,
    RiskLevel,
    Sex,
    TriageCode,
    Urgency,
)
from triage_service.domain.person import normalise_chi


def _as_utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as e:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("time is out of range") from e


def iso_z(value: datetime) -> str:
    """UTC ISO-8601 with a `Z`, millisecond precision."""
    return _as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LATEST_ZONE = timedelta(hours=14)  # the clock furthest ahead of UTC (Kiribati)
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
    otp: str | None = Field(default=None, max_length=16, description="a code from the TOTP app")
    recovery_code: str | None = Field(default=None, max_length=40)


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
    chi: str | None = Field(
        default=None,
        max_length=20,
        description="the person's CHI number, if known: 10 digits (DDMMYY, four more, the"
        " last a modulus-11 check digit); links their earlier contacts",
    )
    date_of_birth: date | None = Field(
        default=None, description="YYYY-MM-DD, if known (with the name: a possible match)"
    )

    @field_validator("chi")
    @classmethod
    def chi_checked(cls, value: str | None) -> str | None:
        """A CHI number is kept as its ten digits, only when its date and check digit hold;
        an empty one is none."""
        if not value:
            return None
        try:
            return normalise_chi(value)
        except ValueError as e:
            raise PydanticCustomError("invalid_chi", str(e)) from e

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def iso_date(cls, value: object) -> object:
        """Only an ISO date, YYYY-MM-DD (neither a number nor a time is taken for one); an
        empty one is none."""
        if value == "":
            return None
        if value is None or isinstance(value, date):
            return value
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise PydanticCustomError("date_type", "a date, YYYY-MM-DD")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def born_already(cls, value: date | None) -> date | None:
        """A date of birth is not in the future (later than today anywhere: UTC+14)."""
        if value is not None and value > (datetime.now(UTC) + LATEST_ZONE).date():
            raise PydanticCustomError("date_in_future", "a date of birth is not in the future")
        return value


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


PHONE_PATTERN = r"^[0-9 +()\-]{7,20}$"
PhoneNumber = Annotated[
    str,
    Field(
        pattern=PHONE_PATTERN,
        description="a call-back number: 7-20 digits, spaces, +, (, ) or -",
    ),
]
Consent = Literal["given", "lacks_capacity", "declined"]
CONSENT_VALUES: tuple[Consent, ...] = ("given", "lacks_capacity", "declined")


def _consent_schema(schema: dict[str, Any]) -> None:
    """`consent` is required and also accepts `true` (meaning given): say so in the schema."""
    _trimmed_lengths(schema)
    schema.setdefault("required", []).append("consent")
    schema["properties"]["consent"] = {
        "anyOf": [{"const": True}, {"enum": list(CONSENT_VALUES)}],
        "description": "true or given; lacks_capacity (with capacity_note); declined",
    }


class RequestForm(Strict):
    """What an officer sends to ask for an assessment."""

    incident_ref: str = Field(min_length=1, max_length=64)
    location: Location
    subject: Subject = Field(default_factory=Subject)
    urgency: Urgency
    concerns: list[Concern] = Field(default_factory=list, max_length=len(Concern))
    screening: Screening = Field(default_factory=Screening)
    mode: Mode
    consent: Consent | None = Field(default=None, validate_default=True)
    capacity_note: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        validate_default=True,
        description="lacks_capacity: why the person cannot consent",
    )
    officer_phone: PhoneNumber | None = None
    notes: str = Field(default="", max_length=2000)

    model_config = ConfigDict(json_schema_extra=_consent_schema)

    @field_validator("consent", mode="before")
    @classmethod
    def consent_recorded(cls, value: object) -> object:
        """Consent is recorded as given (`true` too), lacks capacity or declined; `false` or
        nothing is refused: the officer must say which."""
        if value is True:
            return "given"
        if value is None or value is False:
            raise PydanticCustomError("consent_required", "true, given, lacks_capacity or declined")
        return value

    @field_validator("capacity_note", mode="after")
    @classmethod
    def capacity_explained(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A person who lacks capacity to consent is still seen, and the officer says why;
        the note belongs to `lacks_capacity` only."""
        consent = info.data.get("consent")
        if consent == "lacks_capacity" and not value:
            raise PydanticCustomError("capacity_note_required", "say why the person cannot consent")
        if consent not in ("lacks_capacity", None) and value is not None:
            raise PydanticCustomError("capacity_note_unexpected", "only for lacks_capacity")
        return value


class ContactChoice(Strict):
    """One of a request's earlier contacts, by its request id."""

    request_id: str = Field(min_length=1, max_length=32)


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
    officer_can_leave: bool | None = Field(
        default=None,
        description="whether the clinician released the officer; true without "
        "officer_released_at means released at filing",
    )
    referral: ReferralForm | None = None
    place_of_safety: PlaceOfSafety | None = None
    override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=1000,
        description="why the outcome departs from the usual rules for its triage code",
    )


PlaceOfSafetyResult = Literal[
    "released", "informal_admission", "emergency_detention", "short_term_detention", "other"
]


class PlaceOfSafetyUpdate(Strict):
    """s298: when the person's detention in the place of safety ended, and what the medical
    examination found."""

    ended_at: UtcDatetime | None = None
    result: PlaceOfSafetyResult | None = None
    note: str | None = Field(default=None, max_length=1000)


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
    counterfactual: Counterfactual | None = Field(
        default=None,
        description="without this assessment the officer would most likely have: removed them"
        " under s297, taken them to ED, arrested them, left them with no support, referred them"
        " elsewhere, or the same",
    )


class ConnectionTestOffer(Strict):
    sdp: str = Field(min_length=1, max_length=20000)
    type: Literal["offer"]


# ---- query parameters ----------------------------------------------------------------------


# ---- answers -------------------------------------------------------------------------------


class AlarmAck(Strict):
    note: str | None = Field(default=None, max_length=1000)


AlarmId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class AlarmBatchAck(Strict):
    """Several alarms acknowledged with one note (a supervisor triaging a burst)."""

    ids: list[AlarmId] = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise PydanticCustomError("distinct", "must not name an alarm twice")
        return ids
