"""Validation models for the REST API: they check requests and generate the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
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
    ReferralStatus,
    RequestStatus,
    RiskLevel,
    Role,
    Sex,
    TriageCode,
    Urgency,
)
from triage_service.domain.safety import AlarmKind, AlarmLevel, FallbackReason


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


class Strict(BaseModel):
    """Rejects unknown fields and trims surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Credentials(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Location(Strict):
    description: str = Field(min_length=1, max_length=200)
    area: str | None = Field(default=None, max_length=64)
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
    consent: bool
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


class ReferralUpdate(Strict):
    status: Literal["accepted", "completed", "did_not_attend", "cancelled"]
    note: str | None = Field(default=None, max_length=1000)


class ConnectionTestOffer(Strict):
    sdp: str = Field(min_length=1, max_length=20000)
    type: Literal["offer"]


# ---- answers -------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str


class PersonRef(BaseModel):
    id: str
    display_name: str


class Fallback(BaseModel):
    """The phone line offered to the officer while nobody can answer, and why."""

    reason: FallbackReason
    phone: str
    message: str


class RequestOut(BaseModel):
    """A request as the reader may see it (supervisors get no identifying fields)."""

    id: str
    status: RequestStatus
    priority: int
    urgency: Urgency
    created_at: UtcDatetime
    accepted_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    position: int | None = None
    estimated_wait_s: float | None = None
    officer: PersonRef | None = None
    clinician: PersonRef | None = None
    incident_ref: str | None = None
    location: Location | None = None
    subject: Subject | None = None
    concerns: list[Concern]
    screening: Screening | None = None
    mode: Mode
    notes: str | None = None
    outcome: OutcomeForm | None = None
    phone_fallback: str | None = None
    clinicians_on_duty: int | None = None
    fallback: Fallback | None = None


class RequestList(BaseModel):
    requests: list[RequestOut]


class QueueItem(BaseModel):
    id: str
    priority: int
    urgency: Urgency
    created_at: UtcDatetime
    waited_s: float
    area: str | None
    concerns: list[Concern]
    mode: Mode
    age_band: AgeBand


class QueueOut(BaseModel):
    waiting: list[QueueItem]


class AuthorOut(BaseModel):
    id: str
    display_name: str
    role: str


class MessageOut(BaseModel):
    id: str
    request_id: str
    author: AuthorOut
    text: str
    created_at: UtcDatetime


class MessageList(BaseModel):
    messages: list[MessageOut]


class ReferralOut(BaseModel):
    id: str
    request_id: str
    kind: Literal["referral", "mwc_notification"] = "referral"
    service: str
    urgency: str
    due_at: UtcDatetime
    status: ReferralStatus
    overdue: bool
    contact: str | None = None
    note: str | None = None
    area: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ReferralList(BaseModel):
    referrals: list[ReferralOut]


class OutcomeOut(BaseModel):
    request: RequestOut
    outcome: OutcomeForm
    referral: ReferralOut | None


class AvailabilityOut(BaseModel):
    status: Availability


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class AlarmOut(BaseModel):
    """An alarm record: raised once, kept, acknowledged by a supervisor."""

    id: str
    kind: AlarmKind
    level: AlarmLevel
    request_id: str | None = None
    referral_id: str | None = None
    message: str
    raised_at: UtcDatetime
    acknowledged_at: UtcDatetime | None = None
    acknowledged_by: PersonRef | None = None
    note: str | None = None


class AlarmList(BaseModel):
    alarms: list[AlarmOut]


class AlarmAck(Strict):
    note: str | None = Field(default=None, max_length=1000)
