"""The evaluation export: one de-identified CSV row per request, streamed page by page.

No names, free text, places or coordinates leave through here: each row is built from codes,
times and the area only (the form is read for the age band and sex alone). See the data
dictionary in README.md ("Evaluation export").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from triage_service.domain.times import to_datetime
from triage_service.settings import Settings
from triage_service.stats.window import Window
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
)
REQUEST_FIELDS = (
    "id",
    "created_ms",
    "area",
    "area_id",
    "board",
    "form",
    "priority",
    "urgency",
    "mode",
    "status",
    "answered",
    "first_wait_ms",
    "accepted_ms",
    "completed_ms",
    "officer_released_ms",
    "triage_code",
    "disposition",
    "conveyance",
    "referral_id",
    "notice_id",
    "useful",
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
    board: str | None = None,
) -> int:
    """Write the header and every request created in the window (of one `board`, when
    given); return the row count. Hour and weekday are in the board's local time (the
    service's `timezone` for requests of no board)."""
    await sink.write(_csv([COLUMNS]))
    written = 0
    async for page in pages(store, window):
        rows = await load_rows(store, page, board=board)
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
    store: Store, ids: Sequence[str], *, board: str | None = None
) -> list[tuple[dict[str, str], dict[str, str | None]]]:
    """The requests' needed fields (of one `board`, when given) and their referral's (all
    None when there is none)."""
    found = await store.requests.fields_of(ids, REQUEST_FIELDS)
    records = [
        cast(dict[str, str], r)
        for r in found
        if r["id"] and (board is None or (r["board"] or "") == board)
    ]
    with_referral = [r for r in records if r["referral_id"]]
    referral_rows = await store.referrals.fields_of(
        [r["referral_id"] for r in with_referral], REFERRAL_FIELDS
    )
    referrals = {r["id"]: row for r, row in zip(with_referral, referral_rows, strict=True)}
    none: dict[str, str | None] = dict.fromkeys(REFERRAL_FIELDS)
    return [(r, referrals.get(r["id"], none)) for r in records]


def export_row(
    r: dict[str, str], referral: dict[str, str | None], settings: Settings, now_ms: int
) -> list[str | int]:
    """One request as a row of `COLUMNS`."""
    created = local_time(r, settings)
    subject = json.loads(r["form"] or "{}").get("subject") or {}
    completed = r["status"] == "completed"
    return [
        r["id"],
        created.hour,
        WEEKDAYS[created.weekday()],
        safe_cell(r["area"] or ""),
        subject.get("age_band") or "unknown",
        subject.get("sex") or "unknown",
        r["priority"],
        r["urgency"],
        r["mode"],
        r["status"],
        seconds(r["first_wait_ms"]) if r["answered"] == "1" else "",
        "yes" if is_abandoned(r, settings) else "no",
        seconds(_minus(r["completed_ms"], r["accepted_ms"])) if completed else "",
        seconds(_minus(r["officer_released_ms"], r["created_ms"])) if completed else "",
        r["triage_code"] or "",
        r["disposition"] or "",
        r["conveyance"] or "",
        referral["service"] or "",
        referral["status"] or "",
        referral_on_time(referral, now_ms),
        "yes" if r["notice_id"] else "no",
        r["area_id"] or "",
        r["board"] or "",
        r["useful"] or "",
    ]


def local_time(r: dict[str, str], settings: Settings) -> datetime:
    """When the request was created, in its board's time zone (else the service's)."""
    created = to_datetime(r["created_ms"])
    assert created is not None
    board = settings.areas.board(r["board"] or "")
    return created.astimezone(board.zone if board else ZoneInfo(settings.timezone))


def is_abandoned(r: dict[str, str], settings: Settings) -> bool:
    """Cancelled before any answer, after at least the short-abandon time."""
    return (
        r["status"] == "cancelled"
        and r["answered"] != "1"
        and int(r["completed_ms"]) - int(r["created_ms"]) >= settings.short_abandon_s * 1000
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


def _minus(a: str | None, b: str | None) -> int | None:
    return int(a) - int(b) if a and b else None


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()
