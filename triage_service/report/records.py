"""Reading a report month: the board's requests created in it, with their referral and s298
notice, straight from the records (exact by construction; docs/report.md says why the report
reads records rather than the statistics counters).

One read-only script (`lua/report_month.lua`) reads a page of the month inside Redis and
returns only what the report counts: codes, times, the area id, age band and sex. No names,
free text or places below the area leave the store through here."""

from __future__ import annotations

from dataclasses import dataclass

from triage_service.stats.window import Window
from triage_service.store.store import Store

PAGE = 2000  # requests a script call reads: a few milliseconds of Redis time each
REQUEST_FIELDS = (
    "id",
    "status",
    "board",
    "created_ms",
    "area_id",
    "age_band",
    "sex",
    "answered",
    "first_wait_ms",
    "accepted_ms",
    "completed_ms",
    "officer_released_ms",
    "disposition",
    "referral_id",
    "notice_id",
    "useful",
    "time_saved_min",
    "counterfactual",
    "repeat_30d",
    "repeat_12m",
)  # as lua/report_month.lua returns them, then FOLLOW_FIELDS twice and the station flag
FOLLOW_FIELDS = ("service", "status", "due_ms", "updated_ms", "accepted_ms")
Row = list[str]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A referral or s298 notice as the report counts it."""

    service: str
    status: str
    due_ms: int
    updated_ms: int | None
    was_accepted: bool

    @property
    def on_time(self) -> bool:
        """Completed (sent, for a notice) by its due time."""
        return self.status == "completed" and (self.updated_ms or 0) <= self.due_ms


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One request of the month, typed, with what the report needs and nothing more."""

    id: str
    created_ms: int
    status: str
    area_id: str
    age_band: str
    sex: str
    first_wait_ms: int | None  # None: never answered
    accepted_ms: int | None
    completed_ms: int | None
    released_ms: int | None  # the officer's release (else the filing time), once completed
    disposition: str | None
    useful: int | None
    time_saved_min: int | None
    counterfactual: str | None
    referral: FollowUp | None
    notice: FollowUp | None
    in_police_station: bool
    repeat_30d: bool = False  # an earlier contact of the person within 30 days (365 days)
    repeat_12m: bool = False


async def month_records(store: Store, window: Window, board: str) -> list[ReportRecord]:
    """Every request of `board` created in the window, oldest first.

    Pages go by offset in the creation index: a request is always created at the index's
    end (its score is the time it was made), so a page read later never shifts."""
    found: list[ReportRecord] = []
    offset = 0
    while True:
        page = await store.run("report_month", 0, window.from_ms, window.to_ms, board, offset, PAGE)
        found += [_record(row) for row in page["rows"] or []]
        offset += int(page["scanned"])
        if int(page["scanned"]) < PAGE:
            return found


# Where each field is in a script row (the id first).
AT = {name: i for i, name in enumerate(REQUEST_FIELDS)}
REFERRAL_AT, NOTICE_AT = len(REQUEST_FIELDS), len(REQUEST_FIELDS) + len(FOLLOW_FIELDS)
STATION_AT = NOTICE_AT + len(FOLLOW_FIELDS)


def _record(row: Row) -> ReportRecord:
    """A script row as a typed record (read by position: 10,000 rows a month)."""
    completed = row[AT["status"]] == "completed"
    released = row[AT["officer_released_ms"]] or row[AT["completed_ms"]]
    return ReportRecord(
        id=row[0],
        created_ms=int(row[AT["created_ms"]]),
        status=row[AT["status"]],
        area_id=row[AT["area_id"]],
        age_band=row[AT["age_band"]] or "unknown",
        sex=row[AT["sex"]] or "unknown",
        first_wait_ms=_int(row[AT["first_wait_ms"]]) if row[AT["answered"]] == "1" else None,
        accepted_ms=_int(row[AT["accepted_ms"]]),
        completed_ms=_int(row[AT["completed_ms"]]) if completed else None,
        released_ms=_int(released) if completed else None,
        disposition=row[AT["disposition"]] if completed else None,
        useful=_int(row[AT["useful"]]),
        time_saved_min=_int(row[AT["time_saved_min"]]),
        counterfactual=row[AT["counterfactual"]] or None,
        referral=_follow_up(row[REFERRAL_AT:NOTICE_AT]),
        notice=_follow_up(row[NOTICE_AT:STATION_AT]),
        in_police_station=row[STATION_AT] == "1",
        repeat_30d=row[AT["repeat_30d"]] == "1",
        repeat_12m=row[AT["repeat_12m"]] == "1",
    )


def _follow_up(row: Row) -> FollowUp | None:
    """A referral's or notice's fields (FOLLOW_FIELDS) as a follow-up; None when absent."""
    service, status, due_ms, updated_ms, accepted_ms = row
    if not status:
        return None
    return FollowUp(
        service=service or "other",
        status=status,
        due_ms=int(due_ms or 0),
        updated_ms=_int(updated_ms),
        was_accepted=bool(accepted_ms) or status in ("accepted", "completed", "did_not_attend"),
    )


def _int(value: str | None) -> int | None:
    return int(value) if value else None
