"""The evaluation export: one de-identified CSV row per request, streamed page by page.

No names, free text, places or coordinates leave through here: each row is built from codes,
times and the area only (the form is read for the age band and sex alone, the outcome for
whether the place of safety was a police station). See the data dictionary in
docs/export.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from triage_service.domain.codes import CONSENT_GIVEN, RequestStatus
from triage_service.domain.teams import DEFAULT_BOARD
from triage_service.domain.times import to_datetime
from triage_service.settings import Settings
from triage_service.stats.window import Window
from triage_service.store.requests import Request
from triage_service.store.store import Store

PAGE = 500
COLUMNS = (
    "request_id",
    "hour",
    "weekday",
    "area",
    "age_band",
    "sex",
    "priority",
    "urgency",
    "mode",
    "status",
    "wait_s",
    "abandoned",
    "assessment_s",
    "police_s",
    "triage_code",
    "disposition",
    "conveyance",
    "referral_service",
    "referral_status",
    "referral_on_time",
    "s297",
    "area_id",
    "board",
    "useful",
    "date",
    "time_saved_min",
    "police_station",
    "consent",
    "repeat_30d",
    "repeat_12m",
)
REFERRAL_FIELDS = (
    "service",
    "status",
    "due_ms",
    "updated_ms",
    "urgency",
    "created_ms",
    "accepted_ms",
    "declined_ms",
    "completed_ms",
    "did_not_attend_ms",
    "cancelled_ms",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXPORT_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
OPEN_REFERRAL = ("pending", "accepted")


class Sink(Protocol):
    """Where the CSV goes (an aiohttp StreamResponse)."""

    async def write(self, data: bytes) -> None: ...


async def write_export(
    store: Store,
    settings: Settings,
    window: Window,
    sink: Sink,
    *,
    now_ms: int,
    boards: Collection[str] | None = None,
) -> int:
    """Write the header and every request created in the window (of `boards`, when given);
    return the row count. Date, hour and weekday are in the request's board's local time
    (the service's `timezone` for requests of no board)."""
    await sink.write(_csv([COLUMNS]))
    written = 0
    async for page in pages(store, window):
        rows = await load_rows(store, page, boards=boards)
        await sink.write(_csv([export_row(r, ref, settings, now_ms) for r, ref in rows]))
        written += len(rows)
    return written


async def pages(store: Store, window: Window) -> AsyncIterator[list[str]]:
    """Request ids created in the window, in pages of `PAGE`, oldest first.

    The cursor is the last score read and how many ids at that score were already given, so
    each page costs O(log n + PAGE) however deep into the window it is.
    """
    low: float | str = window.from_ms
    skip = 0
    while True:
        rows = await store.requests.created_between(low, f"({window.to_ms}", skip=skip, count=PAGE)
        if not rows:
            return
        yield [request_id for request_id, _ in rows]
        last = rows[-1][1]
        same = sum(1 for _, score in rows if score == last)
        skip = skip + same if last == low else same
        low = last
        if len(rows) < PAGE:
            return


async def load_rows(
    store: Store, ids: Sequence[str], *, boards: Collection[str] | None = None
) -> list[tuple[Request, dict[str, str | None]]]:
    """The requests (of `boards`, when given: a request of no board belongs to the default
    board) and their referral's fields (all None when there is none)."""
    records = [
        r
        for r in await store.requests.load_many(ids)
        if boards is None or (r.board or DEFAULT_BOARD) in boards
    ]
    with_referral = [(r, r.referral_id) for r in records if r.referral_id]
    referral_rows = await store.referrals.fields_of(
        [referral_id for _, referral_id in with_referral], REFERRAL_FIELDS
    )
    referrals = {r.id: row for (r, _), row in zip(with_referral, referral_rows, strict=True)}
    none: dict[str, str | None] = dict.fromkeys(REFERRAL_FIELDS)
    return [(r, referrals.get(r.id, none)) for r in records]


def export_row(
    r: Request, referral: dict[str, str | None], settings: Settings, now_ms: int
) -> list[str | int]:
    """One request as a row of `COLUMNS`."""
    created = local_time(r, settings)
    subject = r.form.get("subject") or {}
    completed = r.status is RequestStatus.COMPLETED
    return [
        r.id,
        created.hour,
        WEEKDAYS[created.weekday()],
        safe_cell(r.area),
        subject.get("age_band") or "unknown",
        subject.get("sex") or "unknown",
        r.priority,
        r.urgency,
        r.mode,
        r.status.value,
        seconds(r.first_wait_ms) if r.answered else "",
        "yes" if is_abandoned(r, settings) else "no",
        seconds(_minus(r.completed_ms, r.accepted_ms)) if completed else "",
        seconds(_minus(r.officer_released_ms, r.created_ms)) if completed else "",
        r.triage_code or "",
        r.disposition or "",
        r.conveyance or "",
        referral["service"] or "",
        referral["status"] or "",
        referral_on_time(referral, now_ms),
        "yes" if r.notice_id else "no",
        r.area_id or "",
        r.board or "",
        _text(r.useful),
        created.date().isoformat(),
        _text(r.time_saved_min),
        police_station(r.outcome),
        r.consent or CONSENT_GIVEN,
        "yes" if r.repeat_30d else "no",
        "yes" if r.repeat_12m else "no",
    ]


def police_station(outcome: dict[str, Any] | None) -> str:
    """yes: the person was taken to a police station as the place of safety; no: another
    place of safety; empty: no removal to a place of safety."""
    place = (outcome or {}).get("place_of_safety")
    if not place:
        return ""
    return "yes" if place.get("is_police_station") else "no"


def local_time(r: Request, settings: Settings) -> datetime:
    """When the request was created, in its board's time zone (else the service's)."""
    board = settings.areas.board(r.board or "")
    return to_datetime(r.created_ms).astimezone(
        board.zone if board else ZoneInfo(settings.timezone)
    )


def is_abandoned(r: Request, settings: Settings) -> bool:
    """Cancelled before any answer, after at least the short-abandon time."""
    return (
        r.status is RequestStatus.CANCELLED
        and not r.answered
        and (r.completed_ms or 0) - r.created_ms >= settings.short_abandon_s * 1000
    )


def referral_on_time(referral: dict[str, str | None], now_ms: int) -> str:
    """yes: completed by its due time; no: completed late, closed otherwise, or open past due;
    empty: no referral, or open and not yet due."""
    status, due = referral["status"], referral["due_ms"]
    if status is None or due is None:
        return ""
    if status == "completed":
        return "yes" if int(referral["updated_ms"] or 0) <= int(due) else "no"
    if status in OPEN_REFERRAL and int(due) >= now_ms:
        return ""
    return "no"


def seconds(ms: int | str | None) -> int | str:
    """Milliseconds as whole seconds rounded half up (as the statistics count them)."""
    return "" if ms in (None, "") else (int(ms) + 500) // 1000


def safe_cell(text: str) -> str:
    """Free text that a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _minus(a: int | None, b: int | None) -> int | None:
    return a - b if a is not None and b is not None else None


def _text(number: int | None) -> str | int:
    return "" if number is None else number


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()
