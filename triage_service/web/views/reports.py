"""The monthly board report: JSON for the board's analysts, a printable page and its PDF
(supervisors and admins covering the board); every read is in the access log."""

from __future__ import annotations

from aiohttp import web

from triage_service.cpu import run_cpu
from triage_service.domain.codes import STATS_ROLES
from triage_service.domain.queries import ReportQuery
from triage_service.export.csv import EXPORT_HEADERS
from triage_service.report.access import ReportAsked, report_asked
from triage_service.report.build import monthly_report
from triage_service.report.models import MonthlyReport
from triage_service.report.month import parse_month
from triage_service.report.render import Links, report_html, report_pdf
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.templates import JINJA, STATIC
from triage_service.web.views.pages import page_user

routes = ApiRoutes()
STYLESHEET = STATIC / "css" / "report.css"
HEADERS = {"Cache-Control": "no-store"}


async def read_report(request: web.Request, access: AccessLog, asked: ReportAsked) -> MonthlyReport:
    """The report asked for, its reading recorded in the access log."""
    now_ms, store = request.app[CLOCK](), request.app[STORE]
    await access.record(detail=f"{asked.board.id}/{asked.month}")
    return await monthly_report(
        store, request.app[SETTINGS], asked.board, asked.month, now_ms=now_ms
    )


@routes.endpoint(
    "GET",
    "/api/v1/reports/monthly",
    summary="A health board's monthly report (local calendar month)",
    roles=STATS_ROLES,
    query=ReportQuery,
    answer=MonthlyReport,
    errors={403: "A board the reader does not cover (forbidden_board)"},
    audited="report",
)
async def get_monthly_report(
    request: web.Request, sign_in: SignIn, query: ReportQuery, *, access: AccessLog
) -> web.Response:
    """`board` and `month` (YYYY-MM); 422 names a bad one, 403 for a board not covered."""
    asked = report_asked(request.app[SETTINGS].areas, sign_in.user, query.board, query.month)
    report = await read_report(request, access, asked)
    return answer(report, headers=HEADERS)


@routes.get("/reports/{board}/{name}")
async def report_page(request: web.Request) -> web.Response:
    """`/reports/B/YYYY-MM`: the printable page; `/reports/B/YYYY-MM.pdf`: its PDF."""
    sign_in = page_user(request, *STATS_ROLES)
    name = request.match_info["name"]
    month = name.removesuffix(".pdf")
    asked = report_asked(
        request.app[SETTINGS].areas, sign_in.user, request.match_info["board"], month
    )
    report = await read_report(request, AccessLog.of(request, sign_in.user, "report"), asked)
    if name.endswith(".pdf"):
        html = report_html(request.app[JINJA], report, asked.board, inline_css=STYLESHEET)
        return web.Response(
            body=await run_cpu(report_pdf, html),
            content_type="application/pdf",
            headers={
                **EXPORT_HEADERS,
                "Content-Disposition": f'inline; filename="report-{asked.board.id}-{month}.pdf"',
            },
        )
    links = Links(
        pdf=f"/reports/{asked.board.id}/{month}.pdf",
        json=f"/api/v1/reports/monthly?board={asked.board.id}&month={month}",
    )
    html = report_html(request.app[JINJA], report, asked.board, links=links)
    return web.Response(text=html, content_type="text/html", headers=HEADERS)


@routes.get("/reports")
async def choose_report(request: web.Request) -> web.Response:
    """The dashboard's month chooser (a plain GET form): on to `/reports/B/YYYY-MM`."""
    sign_in = page_user(request, *STATS_ROLES)
    asked = report_asked(
        request.app[SETTINGS].areas,
        sign_in.user,
        request.query.get("board", ""),
        str(parse_month(request.query.get("month", ""))),
    )
    raise web.HTTPSeeOther(f"/reports/{asked.board.id}/{asked.month}")
