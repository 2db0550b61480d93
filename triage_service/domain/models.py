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
    PlainValidator,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
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


def _query_time(value: object) -> datetime:
    """An ISO 8601 time (naive means UTC) between the years 2000 and 2999, in UTC."""
    try:
        parsed = (
            value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
        )
    except ValueError as e:
        raise PydanticCustomError(
            "iso_time", "must be an ISO 8601 time, e.g. 2026-11-26T00:00:00Z"
        ) from e
    try:
        utc = _as_utc(parsed)
    except ValueError:
        utc = None
    if utc is None or not 2000 <= utc.year < 3000:
        raise PydanticCustomError("time_range", "must be between the years 2000 and 2999")
    return utc


def _query_flag(value: object) -> bool:
    """`true`/`1` or `false`/`0`, in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false", "1", "0"):
        raise PydanticCustomError("flag", "must be true or false")
    return text in ("true", "1")


QueryTime = Annotated[
    datetime,
    PlainValidator(_query_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
QueryFlag = Annotated[bool, PlainValidator(_query_flag), WithJsonSchema({"type": "boolean"})]


class Query(BaseModel):
    """Query parameters: unknown ones are ignored, as HTTP clients add their own."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WindowQuery(Query):
    """A statistics window: `window` ending now, or both `from` and `to` (not with `window`)."""

    window: Literal["1h", "24h", "7d", "30d"] | None = None
    from_: QueryTime | None = Field(default=None, alias="from")
    to: QueryTime | None = None


BoardId = Annotated[str, Field(min_length=1, max_length=32, description="a health board id")]


class StatsQuery(WindowQuery):
    """The window (default the last 24 h), one health board or all, and the optional,
    costlier parts of the answer."""

    board: BoardId | None = None
    series: QueryFlag = False
    heat_map: QueryFlag = False


class ExportQuery(WindowQuery):
    """The window of an export (default the last 30 days), one health board or all."""

    board: BoardId | None = None


class ReferralQuery(Query):
    status: Literal["open", "overdue", "all"] = "open"
    mine: QueryFlag = Field(default=False, description="clinicians: only the referrals I made")


class RequestsQuery(Query):
    scope: Literal["mine"] = "mine"


# ---- answers -------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    team: str | None = Field(default=None, description="receivers only: service:board")

    @model_serializer(mode="wrap")
    def without_empty_team(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`team` only for receivers: other accounts keep the contract's four fields."""
        found: dict[str, Any] = handler(self)
        if found.get("team") is None:
            found.pop("team", None)
        return found


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
    board: str | None = None
    subject: Subject | None = None
    concerns: list[Concern]
    screening: Screening | None = None
    mode: Mode
    notes: str | None = None
    outcome: OutcomeForm | None = None
    phone_fallback: str | None = None
    clinicians_on_duty: int | None = None
    fallback: Fallback | None = None
    feedback_given: bool | None = Field(
        default=None, description="completed requests: whether the officer rated it"
    )


class RequestList(BaseModel):
    requests: list[RequestOut]


class QueueItem(BaseModel):
    """A request as a clinician chooses it; supervisors get it without the last three."""

    id: str
    priority: int
    urgency: Urgency
    created_at: UtcDatetime
    waited_s: float
    area: str | None
    area_id: str | None = None
    board: str | None = None
    concerns: list[Concern]
    mode: Mode
    age_band: AgeBand
    # C-SSRS screen: "imminent" (q4, q5 or recent q6), "ideation" (q2 or q3), or null.
    risk_flag: Literal["imminent", "ideation"] | None = None
    incident_ref: str | None = None
    place: str | None = None  # the officer's location text (clinicians only)


class QueueOut(BaseModel):
    waiting: list[QueueItem]


class AreaOut(BaseModel):
    id: str
    name: str
    lat: float | None = None
    lon: float | None = None


class BoardOut(BaseModel):
    id: str
    name: str
    timezone: str
    areas: list[AreaOut]


class AreasOut(BaseModel):
    """The area directory: health boards and their areas."""

    boards: list[BoardOut]


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


class Handover(BaseModel):
    """What the receiving team needs from the assessment, and nothing else of the record."""

    summary: str
    risk: Risk | None = None
    advice: str
    contact: str | None = None
    due_at: UtcDatetime


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
    team: str | None = Field(default=None, description="the receiving team, service:board")
    accepted_at: UtcDatetime | None = None
    declined_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    did_not_attend_at: UtcDatetime | None = None
    cancelled_at: UtcDatetime | None = None
    decline_reason: str | None = None
    handover: Handover | None = Field(default=None, description="for the receiving team only")


class ReferralList(BaseModel):
    referrals: list[ReferralOut]


class FeedbackOut(BaseModel):
    request_id: str
    useful: int
    time_saved_min: int | None = None
    comment: str | None = None
    given_at: UtcDatetime


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
