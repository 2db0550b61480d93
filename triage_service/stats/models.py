"""The `Stats` answer (API.md) and its extras, as models: they shape the JSON and the OpenAPI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triage_service.domain.models import UtcDatetime


class Aliased(BaseModel):
    """Serialises `from` (a Python keyword) under its JSON name."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)


class QueueNow(BaseModel):
    """Who is waiting right now."""

    waiting: int
    by_priority: dict[str, int]
    longest_wait_s: float
    in_session: int
    longest_wait_by_priority_s: dict[str, float | None]
    escalated: int = Field(description="waiting past their priority's escalation threshold")


class Clinicians(BaseModel):
    available: int
    busy: int
    offline: int


class Durations(BaseModel):
    """Seconds: the exact mean, and the median (nearest-rank over whole seconds)."""

    n: int
    mean: float | None = None
    p50: float | None = None


class WaitDurations(Durations):
    """Time to connect, with its 90th percentile and the longest wait."""

    p90: float | None = None
    max: float | None = None


class ServiceLevel(BaseModel):
    threshold_s: int
    pct: float | None = Field(description="answered within the threshold, % of answered")
    within: int
    answered: int
    offered: int = Field(description="answered + abandoned (short abandons excluded) + expired")
    pct_of_offered: float | None
    today_pct: float | None = Field(
        default=None, description="since 00:00 UTC today, when the window covers it hourly"
    )


class FollowUps(BaseModel):
    """Referrals (or s298 notifications) made for the window's requests."""

    made: int
    due: int = Field(description="made and already due, or closed: what on_time_pct counts")
    completed: int
    completed_on_time: int
    on_time_pct: float | None = Field(description="completed on time, % of those due")
    completion_s: Durations | None = Field(
        default=None, description="referrals only: made to completed"
    )


class Feedback(BaseModel):
    """Officers' ratings of their assessments (how useful, 1-5)."""

    count: int
    mean_useful: float | None
    rated_time_saved: int = Field(description="ratings that gave the minutes saved")
    mean_time_saved_min: float | None


class Repeat(BaseModel):
    """Repeat presentations: requests whose person had an earlier contact (one their
    clinician did not reject) at most 30 days, or 365 days, before."""

    within_30d: int
    within_12m: int


class Detentions(BaseModel):
    place_of_safety_s297: int
    medical_examination_detention: int
    total: int


class AreaUpstream(BaseModel):
    """One area's demand and what it led to: where and when street triage would help most."""

    requests: int
    detentions: int = Field(description="s297 removals and detentions for medical examination")
    ed_conveyances: int = Field(description="outcomes taking the person to an emergency department")


class SeriesPoint(Aliased):
    start: UtcDatetime = Field(alias="from")
    requests: int
    accepted: int
    within: int
    service_level_pct: float | None
    wait_mean_s: float | None
    wait_p50_s: float | None
    wait_p90_s: float | None


class Series(BaseModel):
    step_s: int
    points: list[SeriesPoint]


class WindowStats(Aliased):
    """Requests created in [from, to) and everything that has happened to them since."""

    start: UtcDatetime = Field(alias="from")
    end: UtcDatetime = Field(alias="to")
    requests: int
    accepted: int
    completed: int
    cancelled: int
    expired: int
    wait_s: WaitDurations = Field(description="time to connect: request to first accept")
    service_level: ServiceLevel
    assessment_s: Durations = Field(description="accept to outcome")
    dispositions: dict[str, int]
    by_area: dict[str, int]
    upstream: dict[str, AreaUpstream] = Field(
        description="by area id: requests, detentions and emergency department conveyances"
    )
    by_hour: list[int] = Field(description="requests by local hour of day, 0-23")
    abandoned: int = Field(description="cancelled unanswered, short abandons excluded")
    answered_pct: float | None
    police_s: Durations = Field(description="police time: request to officer released")
    by_priority: dict[str, int]
    by_mode: dict[str, int]
    by_age_band: dict[str, int]
    by_sex: dict[str, int]
    consent: dict[str, int] = Field(
        description="requests by the consent recorded: `given` (a form's `true` too), or the"
        " reason consent could not be given"
    )
    triage_codes: dict[str, int]
    conveyances: dict[str, int]
    conveyance_avoided: int = Field(
        description="completed without emergency department or ambulance"
    )
    resolved_on_scene: int
    overrides: int = Field(description="outcomes filed against the usual rules, with a reason")
    detentions: Detentions
    referrals: FollowUps
    mwc_notifications: FollowUps
    feedback: Feedback
    repeat: Repeat | None = Field(
        default=None,
        description="repeat presentations among the window's requests; null when linking a"
        " person's requests is off (TRIAGE_PERSON_KEY unset)",
    )
    by_hour_of_week: list[int] = Field(description="168 hours from Monday 00:00 UTC")
    by_area_hour_of_week: dict[str, list[int]] | None = Field(
        description="requests by area and hour of week; only with heat_map=true"
    )
    series: Series | None = Field(
        description="per hour (windows up to 48 h) or UTC day; only with series=true"
    )


class ReferralsNow(BaseModel):
    open: int
    overdue: int
    mwc_open: int
    mwc_overdue: int
    mwc_due_soon: int


class Alarm(BaseModel):
    kind: Literal["waiting_past_threshold", "no_clinician_available", "s298_due_soon"]
    message: str
    request_id: str | None = None
    referral_id: str | None = None
    priority: int | None = None
    waited_s: float | None = None
    threshold_s: int | None = None
    due_at: UtcDatetime | None = None


class Stats(BaseModel):
    """GET /api/v1/stats and the live `stats` message."""

    generated_at: UtcDatetime
    queue: QueueNow
    clinicians: Clinicians
    window: WindowStats
    feedback: Feedback = Field(description="the window's officer feedback (as window.feedback)")
    repeat: Repeat | None = Field(
        default=None, description="the window's repeat presentations (as window.repeat)"
    )
    referrals: ReferralsNow
    alarms: list[Alarm]
