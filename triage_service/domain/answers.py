"""The API's answer models: what each endpoint sends back, as the reader may see it (also the
OpenAPI schema source)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from triage_service.domain.codes import (
    AgeBand,
    Availability,
    Concern,
    Mode,
    ReferralStatus,
    RequestStatus,
    Role,
    Urgency,
)
from triage_service.domain.models import (
    Location,
    OutcomeForm,
    Risk,
    Screening,
    Subject,
    UtcDatetime,
)
from triage_service.domain.safety import AlarmKind, AlarmLevel, FallbackReason


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
