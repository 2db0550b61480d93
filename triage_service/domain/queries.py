"""Query-parameter models: each endpoint's query string validated like a body (422 naming the
parameter) and described in the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from triage_service.domain.models import _as_utc


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
LOCAL_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _query_time_or_day(value: object) -> datetime | date:
    """A local calendar day `YYYY-MM-DD` (years 2000 to 2999), or an ISO 8601 time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not LOCAL_DAY.fullmatch(text):
        return _query_time(value)
    try:
        day = date.fromisoformat(text)
    except ValueError as e:
        raise PydanticCustomError("local_day", "must be a real date, YYYY-MM-DD") from e
    if not 2000 <= day.year < 3000:
        raise PydanticCustomError("time_range", "must be between the years 2000 and 2999")
    return day


QueryTimeOrDay = Annotated[
    datetime | date,
    PlainValidator(_query_time_or_day),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a local calendar day YYYY-MM-DD (the board's), or an ISO 8601 time",
        }
    ),
]


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


class ExportQuery(Query):
    """The window of an export (default the last 30 days), one health board or all of the
    reader's: `window` ending now, or `from` and `to` as local days of the board (`to` the
    last day, included) or as times."""

    window: Literal["1h", "24h", "7d", "30d"] | None = None
    from_: QueryTimeOrDay | None = Field(default=None, alias="from")
    to: QueryTimeOrDay | None = None
    board: BoardId | None = None


class ReportQuery(Query):
    """A monthly board report: the board and its local calendar month."""

    board: BoardId
    month: str = Field(
        pattern=r"^2\d{3}-(0[1-9]|1[0-2])$",
        description="YYYY-MM (2000-01 to 2999-12), the board's local calendar month",
    )


class ReferralQuery(Query):
    status: Literal["open", "overdue", "all"] = "open"
    mine: QueryFlag = Field(default=False, description="clinicians: only the referrals I made")


class RequestsQuery(Query):
    """An officer's own requests: the newest `limit`, or only the open ones (waiting or in
    session), so a page reads no more than it shows."""

    scope: Literal["mine"] = "mine"
    status: Literal["open", "all"] = Field(
        default="all", description="open: only those waiting or in session"
    )
    limit: int = Field(default=100, ge=1, le=100, description="at most this many, newest first")
