"""`triage-service report --board B --month YYYY-MM --format json|html|pdf --out FILE`: a
board's monthly report written to a file, from the configured (or embedded) store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from triage_service.cli_store import open_store
from triage_service.domain.areas import Board
from triage_service.domain.errors import Invalid
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.words import plural
from triage_service.report.build import monthly_report
from triage_service.report.models import MonthlyReport
from triage_service.report.month import parse_month
from triage_service.report.render import report_html, report_pdf
from triage_service.settings import Settings
from triage_service.store import StoreError
from triage_service.web.templates import STATIC, jinja_environment


async def report_command(settings: Settings, parsed: argparse.Namespace) -> int:
    """Write the report; 0 on success, 2 for a bad board or month, 1 when Redis fails."""
    board = settings.areas.board(parsed.board)
    try:
        month = parse_month(parsed.month)
    except Invalid as e:
        return _refuse(f"--month: {e.message}")
    if board is None:
        return _refuse(
            f"--board: no board {parsed.board!r} ({', '.join(settings.areas.board_ids)})"
        )
    try:
        async with open_store(settings) as store:
            report = await monthly_report(store, settings, board, month, now_ms=wall_clock_ms())
    except StoreError as e:
        return _refuse(str(e), status=1)
    write_report(report, board, parsed.format, parsed.out)
    print(
        f"{board.name}, {month.label()}: {plural(report.requests, 'request')}; wrote {parsed.out}"
    )
    return 0


def write_report(report: MonthlyReport, board: Board, form: str, out: Path) -> None:
    """The report as JSON, a standalone HTML page (its stylesheet inside) or a PDF."""
    if form == "json":
        out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return
    html = report_html(jinja_environment(), report, board, inline_css=STATIC / "css" / "report.css")
    if form == "html":
        out.write_text(html, encoding="utf-8")
    else:
        out.write_bytes(report_pdf(html))


def _refuse(message: str, *, status: int = 2) -> int:
    print(f"triage-service: {message}", file=sys.stderr)
    return status
