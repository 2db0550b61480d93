"""The monthly report's JSON (GET /api/v1/reports/monthly), also the source of its OpenAPI
schema. Counts are plain numbers here; the printed report shows 1 to 4 as "<5"."""

from __future__ import annotations

from pydantic import BaseModel, Field

from triage_service.domain.models import UtcDatetime
from triage_service.stats.models import Aliased, Repeat


class WaitFigures(BaseModel):
    p50: float | None = Field(description="median time to answer (s), nearest rank")
    p90: float | None = Field(description="90th percentile of the time to answer (s)")


class AssessmentFigures(BaseModel):
    p50: float | None = Field(description="median assessment length (s), nearest rank")


class PoliceTime(BaseModel):
    """Request created to officer released (the outcome's `officer_released_at`, else its
    filing time), over the month's completed requests."""

    n: int
    mean: float | None = Field(description="hours")
    median: float | None = Field(description="hours, nearest rank over whole seconds")
    total: float = Field(description="hours")


class HoursSaved(BaseModel):
    reported_h: float = Field(description="the officers' own minutes saved, summed, in hours")
    reported_n: int = Field(description="ratings that gave minutes saved")
    estimated_h: float = Field(
        description="for each answered request whose officer would otherwise have removed the"
        " person under s297 or taken them to ED and whose outcome was neither: the board's"
        " hours for that pathway less the request's police time"
    )
    estimated_n: int = Field(description="requests in the estimate")


class Detentions(BaseModel):
    s297: int = Field(description="removals to a place of safety (s297)")
    examination: int = Field(description="detentions for a medical examination")
    in_police_station: int = Field(description="s297 removals held in a police station")
    in_police_station_pct: float | None = Field(description="share of the s297 removals")
    population: int | None = Field(description="the board's areas' summed population")
    per_100k: float | None = Field(
        description="s297 and examination detentions in the month per 100,000 population;"
        " null unless every area of the board has a population"
    )


class EdFigures(BaseModel):
    conveyed: int = Field(description="outcomes of emergency_department")
    avoided: int = Field(
        description="officer would otherwise have taken them to ED; the outcome was not ED"
    )


class ReferralFigures(BaseModel):
    made: int
    accepted: int = Field(description="accepted by the team (also if since completed)")
    on_time: int = Field(description="completed by the due time")
    declined: int
    did_not_attend: int


class MwcFigures(BaseModel):
    made: int = Field(description="s298 notices opened for the month's s297 removals")
    due: int = Field(description="of those, already due or closed when the report was made")
    sent_on_time: int = Field(description="sent by their due time")


class Usefulness(BaseModel):
    n: int
    mean: float | None = Field(description="officers' rating, 1 (not at all) to 5 (very)")


class Equity(BaseModel):
    age_band: dict[str, int]
    sex: dict[str, int]
    area: dict[str, int] = Field(description="requests by area id (every area of the board)")


class TrendPoint(BaseModel):
    month: str = Field(description="YYYY-MM")
    requests: int
    service_level_pct: float | None


class CostAvoided(BaseModel):
    total: float = Field(description="GBP: the three parts below")
    currency: str = "GBP"
    officer_time: float = Field(description="estimated officer hours x officer_hour")
    ed: float = Field(description="ED avoided x (ed_attendance + ambulance_conveyance)")
    s297: float = Field(description="s297 avoided x s297_detention")
    s297_avoided: int = Field(
        description="officer would otherwise have removed them under s297; the outcome was not"
        " an s297 removal"
    )
    assumptions: dict[str, float] = Field(description="every value the estimate uses")
    assumed: list[str] = Field(
        description="the values that are the documented defaults, not the board's own"
    )


class MonthlyReport(Aliased):
    """One health board's figures for one local calendar month (requests created in it and
    everything that has happened to them since)."""

    board: str
    board_name: str
    month: str = Field(description="YYYY-MM, the board's local calendar month")
    timezone: str
    start: UtcDatetime = Field(alias="from", description="local midnight on the 1st, in UTC")
    end: UtcDatetime = Field(alias="to", description="local midnight on the next 1st (excluded)")
    generated_at: UtcDatetime
    requests: int
    answered: int
    service_level_threshold_s: int
    service_level_pct: float | None = Field(description="answered within the threshold")
    wait_s: WaitFigures
    assessment_s: AssessmentFigures
    police_time_h: PoliceTime
    officer_hours_saved: HoursSaved
    detentions: Detentions
    ed: EdFigures
    referrals: dict[str, ReferralFigures] = Field(description="by referral service")
    mwc: MwcFigures
    usefulness: Usefulness
    equity: Equity
    repeat: Repeat | None = Field(
        description="requests whose person had an earlier contact within 30 days and within"
        " 12 months; null when linking a person's requests is off (TRIAGE_PERSON_KEY unset)"
    )
    trend: list[TrendPoint] = Field(description="the 12 months ending with this one")
    cost_avoided: CostAvoided
