"""The monthly board report: every figure against a brute-force count over two boards in
different time zones, who may read which board, and the page, PDF and command line."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from argparse import Namespace
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import weasyprint
from aiohttp import web
from aiohttp.test_utils import TestServer
from report_random import AREAS_FILE, ZONES, make_report_data, make_request
from report_truth import month_truth, trend_truth
from stats_truth import load_all

from conftest import (
    REDIS_URL,
    ApiClient,
    FakeClock,
    SignInFactory,
    create_account,
    log_in,
    read_stream,
)
from triage_service.cli_report import report_command
from triage_service.domain.areas import AreaFileError, parse_directory
from triage_service.domain.codes import Role
from triage_service.domain.costs import DEFAULT_COSTS
from triage_service.report.models import MonthlyReport
from triage_service.report.render import report_html
from triage_service.settings import Settings
from triage_service.web.state import SETTINGS, STORE
from triage_service.web.templates import JINJA
from triage_service.web.views.reports import STYLESHEET

NOW = int(datetime(2026, 4, 5, 12, tzinfo=UTC).timestamp() * 1000)
TREND = [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]
LOTHIAN_COSTS = {**DEFAULT_COSTS, "officer_hour": 50.0, "s297_hours": 5.0}
POPULATIONS: dict[str, dict[str, int | None]] = {
    "lothian": {"leith": 50000, "portobello": 20000},
    "gotham": {"midtown": 100000, "harbor": None},
}


@pytest.fixture
def clock() -> FakeClock:
    """Early April 2026: some of March's s298 notices are not yet due."""
    return FakeClock(NOW)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Two boards (Lothian on London time with some costs of its own, Gotham on New York
    time with the defaults and an area without a population)."""
    areas = tmp_path / "areas.toml"
    areas.write_text(AREAS_FILE, encoding="utf-8")
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        sweep_interval_s=3600,
        areas_file=str(areas),
        session_absolute_s=400 * 86400,
    )


@pytest.fixture
async def supervisor_of(server: TestServer) -> AsyncIterator[Callable[[str], Awaitable[ApiClient]]]:
    """Factory: a signed-in supervisor limited to some boards (comma-separated)."""
    clients: list[ApiClient] = []

    async def factory(boards: str) -> ApiClient:
        user = await create_account(server.app, Role.SUPERVISOR)
        store = server.app[STORE]
        await store.client.hset(store.keys.user(user.id), "boards", boards)
        clients.append(await log_in(server, user))
        return clients[-1]

    yield factory
    for api in clients:
        await api.client.close()


def without_times(report: dict[str, object]) -> dict[str, object]:
    """The report less its trend, its span, when it was made and its fixed fields."""
    skip = {"trend", "from", "to", "generated_at", "board", "board_name", "month", "timezone"}
    found = {k: v for k, v in report.items() if k not in skip and k != "service_level_threshold_s"}
    cost = dict(found["cost_avoided"])  # type: ignore[call-overload]
    cost.pop("assumed")
    return {**found, "cost_avoided": cost}


async def test_report_matches_brute_force(
    sign_in: SignInFactory,
    app: web.Application,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """For requests over two boards in London and New York time, many within an hour of
    March's local edges and of its clock change, every figure of each board's March report
    (and its 12-month trend) equals a brute-force count of the records on the board's own
    clock."""
    rng = random.Random(20260401)
    await make_report_data(app[STORE], app, rng, count=360, until_ms=NOW - 3_600_000)
    records, follow = await load_all(redis_client, key_prefix)
    supervisor = await sign_in("supervisor")
    costs = {"lothian": LOTHIAN_COSTS, "gotham": dict(DEFAULT_COSTS)}
    for board in ("lothian", "gotham"):
        status, report = await supervisor.get(
            f"/api/v1/reports/monthly?board={board}&month=2026-03"
        )
        assert status == 200, report
        truth = month_truth(
            records,
            follow,
            board=board,
            zone=ZONES[board],
            month="2026-03",
            areas=POPULATIONS[board],
            costs=costs[board],
            threshold_s=600,
            now_ms=NOW,
        )
        assert without_times(report) == truth, board
        assert report["trend"] == trend_truth(
            records, board=board, zone=ZONES[board], months=TREND, threshold_s=600
        )
        assert truth["requests"] > 50 and truth["detentions"]["in_police_station"] > 0
        assert truth["mwc"]["due"] < truth["mwc"]["made"]  # some not due yet on 5 April
        assert truth["officer_hours_saved"]["estimated_n"] > 0 and truth["ed"]["avoided"] > 0
        assert any(r["declined"] for r in truth["referrals"].values())
    _, lothian = await supervisor.get("/api/v1/reports/monthly?board=lothian&month=2026-03")
    assert (lothian["from"], lothian["to"]) == (
        "2026-03-01T00:00:00.000Z",
        "2026-03-31T23:00:00.000Z",
    )
    assert lothian["cost_avoided"]["assumed"] == [
        "ambulance_conveyance",
        "ed_attendance",
        "ed_hours",
        "s297_detention",
    ]
    _, gotham = await supervisor.get("/api/v1/reports/monthly?board=gotham&month=2026-03")
    assert (gotham["from"], gotham["to"]) == (
        "2026-03-01T05:00:00.000Z",
        "2026-04-01T04:00:00.000Z",
    )
    assert gotham["detentions"]["per_100k"] is None  # Harbor has no population
    assert lothian["timezone"] == "Europe/London" and gotham["repeat"] is None


async def test_month_edges_by_hand(sign_in: SignInFactory, app: web.Application) -> None:
    """On the board's clock a month runs from midnight on the 1st (included) to midnight on
    the next 1st (excluded): a request a millisecond either side of each edge, and one in
    the hour the clocks skip, are counted where that clock puts them."""
    rng = random.Random(1)
    london_start = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)  # GMT
    london_end = int(datetime(2026, 3, 31, 23, tzinfo=UTC).timestamp() * 1000)  # BST
    change = int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp() * 1000)
    for at in (london_start - 1, london_start, change - 1, change, london_end - 1, london_end):
        await make_request(app[STORE], app, rng, "lothian", at)
    supervisor = await sign_in("supervisor")
    found = {}
    for month in ("2026-02", "2026-03", "2026-04"):
        _, report = await supervisor.get(f"/api/v1/reports/monthly?board=lothian&month={month}")
        found[month] = report["requests"]
    assert found == {"2026-02": 1, "2026-03": 4, "2026-04": 1}


async def test_report_access_follows_the_boards(
    sign_in: SignInFactory,
    supervisor_of: Callable[[str], Awaitable[ApiClient]],
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """A supervisor limited to a board reads its report and gets 403 `forbidden_board` for
    another (JSON, page and PDF); officers and clinicians 403; not signed in 401; an unknown
    board or a malformed month 422 naming it; every read is in the access log."""
    lothian = await supervisor_of("lothian")
    assert (await lothian.get("/api/v1/reports/monthly?board=lothian&month=2026-03"))[0] == 200
    status, body = await lothian.get("/api/v1/reports/monthly?board=gotham&month=2026-03")
    assert status == 403 and body["error"]["code"] == "forbidden_board", body
    for path in ("/reports/gotham/2026-03", "/reports/gotham/2026-03.pdf"):
        async with lothian.client.get(path) as response:
            assert response.status == 403, path
    for role in ("officer", "clinician"):
        status, _ = await (await sign_in(role)).get(
            "/api/v1/reports/monthly?board=lothian&month=2026-03"
        )
        assert status == 403
    for query, field in (
        ("board=lothian&month=2026-13", "month"),
        ("board=lothian&month=March", "month"),
        ("board=lothian&month=1999-12", "month"),
        ("board=lothian", "month"),
        ("board=atlantis&month=2026-03", "board"),
        ("month=2026-03", "board"),
    ):
        status, body = await lothian.get(f"/api/v1/reports/monthly?{query}")
        assert status == 422 and field in body["error"]["fields"], (query, body)
    async with lothian.client.get("/reports/lothian/2026-3") as response:
        assert response.status == 422
    entries = await read_stream(redis_client, f"{key_prefix}audit")
    reads = [e for e in entries if e.get("action") == "report"]
    assert reads and all(e["user_id"] == lothian.user.id for e in reads)


async def test_printed_report_suppresses_small_counts_and_names_nobody(
    sign_in: SignInFactory, app: web.Application
) -> None:
    """The printable page needs no JavaScript, draws its charts as SVG, shows counts from
    1 to 4 as "<5" and holds no name, free text or place below the area; the PDF (A4) is the
    same page rendered on the server."""
    rng = random.Random(7)
    march = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
    for n in range(3):
        await make_request(app[STORE], app, rng, "lothian", march + n * 3_600_000)
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get("/reports/lothian/2026-03") as response:
        assert response.status == 200
        page = await response.text()
    assert "<script" not in page and "<svg" in page
    assert 'data-field="requests"><5<' not in page  # escaped, as HTML must be
    assert 'data-field="requests">&lt;5<' in page
    assert "NHS Lothian" in page and "March 2026" in page and "Leith" in page
    for private in ("Jane", "Bus station", "PS-2026", "platform edge"):
        assert private not in page, private
    async with supervisor.client.get("/reports/lothian/2026-03.pdf") as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        pdf = await response.read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    _, report = await supervisor.get("/api/v1/reports/monthly?board=lothian&month=2026-03")
    board = app[SETTINGS].areas.board("lothian")
    assert board is not None
    html = report_html(
        app[JINJA], MonthlyReport.model_validate(report), board, inline_css=STYLESHEET
    )
    pages = weasyprint.HTML(string=html).render().pages
    assert [(round(p.width), round(p.height)) for p in pages[:1]] == [(794, 1123)]  # A4, CSS px


async def test_report_command_writes_each_format(
    sign_in: SignInFactory,
    app: web.Application,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`triage-service report --format json|html|pdf --out FILE` writes the same figures as
    the API (JSON), a page that stands alone with its stylesheet inside (HTML), and a PDF;
    a malformed month or an unknown board exits 2 naming the flag."""
    rng = random.Random(3)
    for day in range(1, 9):
        at = int(datetime(2026, 3, day, 15, tzinfo=UTC).timestamp() * 1000)
        await make_request(app[STORE], app, rng, "gotham", at)
    written = {}
    for form in ("json", "html", "pdf"):
        out = tmp_path / f"report.{form}"
        args = Namespace(board="gotham", month="2026-03", format=form, out=out)
        assert await report_command(settings, args) == 0
        written[form] = out.read_bytes()
    _, answer = await (await sign_in("supervisor")).get(
        "/api/v1/reports/monthly?board=gotham&month=2026-03"
    )
    from_file = json.loads(written["json"])
    assert {**from_file, "generated_at": None} == {**answer, "generated_at": None}
    assert from_file["requests"] == 8
    assert b"<style>" in written["html"] and b"/static/" not in written["html"]
    assert written["pdf"].startswith(b"%PDF-")
    for board, month, flag in (("gotham", "2026-3", "--month"), ("atlantis", "2026-03", "--board")):
        args = Namespace(board=board, month=month, format="json", out=tmp_path / "x")
        assert await report_command(settings, args) == 2
        assert flag in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


async def test_dashboard_links_last_month(
    supervisor_of: Callable[[str], Awaitable[ApiClient]],
) -> None:
    """The supervisor's dashboard links last month's report (page and PDF) of each board they
    cover and no other, and its month chooser, a plain form, leads to the chosen report."""
    lothian = await supervisor_of("lothian")
    async with lothian.client.get("/supervisor") as response:
        page = await response.text()
    assert 'href="/reports/lothian/2026-03"' in page
    assert 'href="/reports/lothian/2026-03.pdf"' in page
    assert "/reports/gotham/" not in page
    async with lothian.client.get(
        "/reports?board=lothian&month=2026-01", allow_redirects=False
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/reports/lothian/2026-01"
    async with lothian.client.get("/reports/lothian/2026-03") as response:
        assert response.status == 200 and "<svg" in await response.text()


def test_areas_file_costs_and_population() -> None:
    """`[boards.B.costs]` overrides any of the six values, the rest keep their documented
    defaults and are marked as assumed; a negative cost, hours past 72, an unknown cost or a
    population below 1 stop the file with one line naming the field."""
    board = parse_directory(AREAS_FILE, default_timezone="UTC").board("lothian")
    assert board is not None
    assert board.costs.values() == LOTHIAN_COSTS
    assumed = {"ed_attendance", "s297_detention", "ambulance_conveyance", "ed_hours"}
    assert board.costs.defaulted == assumed
    assert [a.population for a in board.areas] == [50000, 20000]
    for bad, field in (
        ("officer_hour = 50", "officer_hour = -1"),
        ("s297_hours = 5", "s297_hours = 73"),
        ("s297_hours = 5", "taxi = 20"),
        ("population = 50000", "population = 0"),
    ):
        with pytest.raises(AreaFileError, match=field.split(" ")[0]):
            parse_directory(AREAS_FILE.replace(bad, field, 1), default_timezone="UTC")


@pytest.mark.slow  # runs the command line
async def test_report_command_line_usage(tmp_path: Path) -> None:
    """`triage-service report` is wired as a command: a malformed month or an unknown
    format exits 2 with one line naming the flag, before any store is opened."""
    command = str(Path(sys.executable).parent / "triage-service")
    for args, flag in (
        (["--month", "2026-13", "--format", "json"], "--month"),
        (["--month", "2026-03", "--format", "docx"], "--format"),
    ):
        process = await asyncio.create_subprocess_exec(
            command,
            "report",
            "--board",
            "default",
            *args,
            "--out",
            str(tmp_path / "out"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")},
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 2 and flag in err.decode(), err
    assert not (tmp_path / "out").exists()
