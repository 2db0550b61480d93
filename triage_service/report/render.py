"""The report as a printable page (jinja2, charts as server-drawn SVG) and as a PDF of the
same page (WeasyPrint: HTML and CSS to PDF in Python, on Debian's pango; docs/report.md)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from triage_service.domain.areas import Board
from triage_service.domain.teams import SERVICE_NAMES
from triage_service.report import present
from triage_service.report.charts import bars_chart, trend_chart
from triage_service.report.models import MonthlyReport
from triage_service.report.month import Month

# WeasyPrint does not promise that two renderings in two threads of one process are safe
# (pango and fontconfig underneath); a report is rare, so they simply take turns.
_ONE_PDF_AT_A_TIME = threading.Lock()
SEX_NAMES = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not known"}
ASSUMPTION_NAMES = {
    "officer_hour": "Cost of an officer hour",
    "ed_attendance": "Cost of an A&E attendance",
    "s297_detention": "Cost of an s297 removal and detention",
    "ambulance_conveyance": "Cost of an ambulance conveyance",
    "s297_hours": "Police hours an s297 removal takes",
    "ed_hours": "Police hours an A&E conveyance takes",
}


@dataclass(frozen=True, slots=True)
class Links:
    """Where the page links to its PDF and JSON (the served page only)."""

    pdf: str
    json: str


def report_html(
    env: jinja2.Environment,
    report: MonthlyReport,
    board: Board,
    *,
    links: Links | None = None,
    inline_css: Path | None = None,
) -> str:
    """The report page; with `inline_css` the stylesheet is inside the page (a file or a PDF
    stands alone; the served page links it, as its CSP allows no inline style)."""
    return env.get_template("report.html").render(
        **context(report, board),
        links=links,
        inline_css=inline_css.read_text(encoding="utf-8") if inline_css else None,
    )


def context(report: MonthlyReport, board: Board) -> dict[str, Any]:
    """What the template shows beyond the report itself."""
    month = Month(int(report.month[:4]), int(report.month[5:]))
    ages = [(present.AGE_LABELS.get(k, k), n) for k, n in report.equity.age_band.items()]
    return {
        "r": report,
        "month": month,
        "period_from": _local(report.start, board, "%-d %B %Y %H:%M %Z"),
        "period_to": _local(report.end, board, "%-d %B %Y %H:%M %Z"),
        "generated": _local(report.generated_at, board, "%-d %B %Y at %H:%M %Z"),
        "trend_chart": trend_chart(report.trend),
        "age_chart": bars_chart("Requests by age band", ages),
        "area_names": {a.id: a.name for a in board.areas},
        "service_names": SERVICE_NAMES,
        "sex_names": SEX_NAMES,
        "assumption_names": ASSUMPTION_NAMES,
        "shown": present.shown,
        "share": present.share,
        "hours": present.hours,
        "money": present.money,
        "minutes": present.minutes,
    }


def _local(when: datetime, board: Board, pattern: str) -> str:
    return when.astimezone(UTC).astimezone(board.zone).strftime(pattern)


def report_pdf(html: str) -> bytes:
    """The page rendered to an A4 PDF (CPU-bound: call it through `cpu.run_cpu` in a
    server). The page refers to nothing outside itself: the stylesheet is inline and the
    charts are SVG in the page."""
    import weasyprint  # imported here: loading pango costs time the other commands need not pay

    with _ONE_PDF_AT_A_TIME:
        return bytes(weasyprint.HTML(string=html).write_pdf())
