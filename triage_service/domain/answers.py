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
    Counterfactual,
    Mode,
    ReferralStatus,
    RequestStatus,
    Role,
    Urgency,
)
from triage_service.domain.models import (
    Consent,
    Location,
    OutcomeForm,
    PlaceOfSafetyResult,
    Risk,
    Screening,
    Subject,
    UtcDatetime,
)
from triage_service.domain.person import MatchedBy
from triage_service.domain.safety import AlarmKind, AlarmLevel, FallbackReason
from triage_service.domain.transfers import Clinician, PendingTransfer, TransferStep


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
    phone: str | None = Field(
        default=None, description="call-back number, for the people of the request only"
    )

    @model_serializer(mode="wrap")
    def without_empty_phone(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`phone` only where there is one: a person elsewhere keeps `{id, display_name}`."""
        found: dict[str, Any] = handler(self)
        if found.get("phone") is None:
            found.pop("phone", None)
        return found


class PlaceRef(BaseModel):
    """An area or a health board: its directory id (none for a place the officer typed that
    is not in the directory) and its name."""

    id: str | None
    name: str


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
    consent: Consent | None = Field(
        default=None, description="given (also when sent as true), lacks_capacity or declined"
    )
    capacity_note: str | None = None
    outcome: OutcomeForm | None = None
    phone_fallback: str | None = None
    emergency_number: str | None = Field(
        default=None, description="the number the officer calls for emergency services"
    )
    clinicians_on_duty: int | None = None
    fallback: Fallback | None = None
    feedback_given: bool | None = Field(
        default=None, description="completed requests: whether the officer rated it"
    )
    clinicians: list[Clinician] = Field(default=[], description="every clinician, in order")
    transfers: list[TransferStep] = Field(default=[], description="hand-overs, oldest first")
    transfer: PendingTransfer | None = Field(default=None, description="an offer awaiting answer")


class RequestList(BaseModel):
    requests: list[RequestOut]


class ContactReferral(BaseModel):
    service: str
    status: ReferralStatus


class PreviousContact(BaseModel):
    """One earlier request of the same person (or, by name and date of birth, possibly the
    same), as its clinician in session sees it."""

    request_id: str
    created_at: UtcDatetime
    status: RequestStatus
    area: str | None = Field(description="the area's name (or the place name typed)")
    area_id: str | None
    triage_code: str | None
    disposition: str | None
    referral: ContactReferral | None
    summary: str | None = Field(description="the clinical summary, while it is retained")
    matched_by: MatchedBy = Field(
        description="chi: the same CHI number; name_dob: the same name and date of birth, a"
        " possible match unless `confirmed`"
    )
    confirmed: bool = Field(description="a clinician confirmed this possible match")


class History(BaseModel):
    """A request's earlier contacts of the last 24 months, newest first."""

    matched_by: MatchedBy | None = Field(
        description="what this request was linked by: its CHI number, or (possible matches"
        " only) name and date of birth; null: nothing to link by, or linking is off"
    )
    contacts: list[PreviousContact]


class MatchVerdictOut(BaseModel):
    """A clinician's verdict on a possible match: `rejected` unlinks it."""

    request_id: str
    contact_id: str
    verdict: Literal["confirmed", "rejected"]


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
    emergency_number: str = Field(description="the number an officer calls for emergency services")
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
    area: PlaceRef | None = Field(default=None, description="where the request was made")
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
    counterfactual: Counterfactual | None = None
    given_at: UtcDatetime


class OutcomeWarning(BaseModel):
    """Something the clinician must act on now, although the outcome was filed."""

    code: Literal["team_unstaffed"]
    message: str
    team: str
    name: str | None = Field(default=None, description="the team's name from the areas file")
    phone: str | None = Field(default=None, description="the team's phone from the areas file")


class OutcomeOut(BaseModel):
    request: RequestOut
    outcome: OutcomeForm
    referral: ReferralOut | None
    warnings: list[OutcomeWarning] = Field(default_factory=list)


class OutcomeCheckOut(BaseModel):
    """An outcome that filing would accept as it is: where it departs from the usual rules
    (field → why; empty if nowhere), each departure carried by its override reason."""

    departures: dict[str, str]


class PlaceOfSafetyOut(BaseModel):
    """s298: the end of the place-of-safety detention and the examination's result."""

    request_id: str
    ended_at: UtcDatetime | None = None
    result: PlaceOfSafetyResult | None = None
    note: str | None = None
    updated_at: UtcDatetime | None = None


class AvailabilityOut(BaseModel):
    status: Availability


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None
    # Sign-in only: the second factors that would do (`mfa_required`), and the token that
    # lets the user enrol one (`mfa_enrolment_required`).
    methods: list[str] | None = None
    enrolment_token: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class AlarmOut(BaseModel):
    """An alarm record: raised once, kept, acknowledged by a supervisor; resolved by the
    service when its cause ends."""

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
    area: PlaceRef | None = Field(default=None, description="the area of its request")
    board: PlaceRef | None = Field(default=None, description="the health board of its request")
    resolved_at: UtcDatetime | None = Field(
        default=None, description="when its cause ended (no longer open, no more escalation)"
    )
    resolved_reason: str | None = Field(
        default=None,
        description="request_accepted, request_cancelled, request_expired, or referral_{status}",
    )


class AlarmList(BaseModel):
    alarms: list[AlarmOut]


class AlarmSkipped(BaseModel):
    """An alarm of a batch that was not acknowledged, and why."""

    id: str
    code: Literal["already_acknowledged", "not_found"]


class AlarmBatchOut(BaseModel):
    """The alarms a batch acknowledged (in the order asked) and those it left alone."""

    acknowledged: list[AlarmOut]
    skipped: list[AlarmSkipped]
