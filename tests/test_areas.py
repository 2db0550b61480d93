"""Areas and routing: the area directory, routing by health board with overflow, the area's
phone line, statistics per board in the board's local time, and a malformed areas file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from conftest import REDIS_URL, ApiClient, FakeClock, create_account, log_in, new_request, on_duty
from support.commands import clean_env, run
from support.forms import AREAS, DAY, PLACE_OF_SAFETY, at, outcome
from triage_service.domain.areas import AreaFileError, parse_directory
from triage_service.domain.codes import Role
from triage_service.domain.routing import offered_to
from triage_service.settings import Settings
from triage_service.web.state import STORE

H, S = 3_600_000, 1000

pytestmark = pytest.mark.settings(sweep_interval_s=3600, session_absolute_s=30 * 86400)


@pytest.fixture
def clock() -> FakeClock:
    """Monday 14:00 UTC."""
    return FakeClock(DAY + 14 * H)


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Three boards (one in New York) from an areas file; overflow as by default."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        session_absolute_s=30 * 86400,
        presence_lease_s=86400,  # leases outlive the clock jumps
    )


@pytest.fixture
async def people(server: TestServer) -> AsyncIterator[Any]:
    """Factory: a signed-in account of a role covering some boards (none given: all)."""
    clients: list[ApiClient] = []

    async def factory(role: str, boards: str = "") -> ApiClient:
        user = await create_account(server.app, Role(role))
        store = server.app[STORE]
        await store.client.hset(store.keys.user(user.id), "boards", boards)
        api = await log_in(server, user)
        clients.append(api)
        return api

    yield factory
    for api in clients:
        await api.client.close()


async def test_areas_lists_boards_and_areas(people: Any) -> None:
    """GET /areas lists each board with its time zone (the default where none is given) and
    its areas with their coordinates, but not their phone lines."""
    officer = await people("officer")
    body = await officer.request("GET", "/api/v1/areas")
    boards = {b["id"]: b for b in body["boards"]}
    assert list(boards) == ["lothian", "glasgow", "newyork"]
    assert boards["glasgow"]["timezone"] == "Europe/London"
    assert boards["lothian"]["areas"][0] == {
        "id": "leith",
        "name": "Leith",
        "lat": 55.975,
        "lon": -3.17,
    }
    assert "phone_fallback" not in str(body)


async def test_unknown_area_is_refused_with_the_field(people: Any) -> None:
    """An area id outside the directory is 422 unknown_area naming location.area_id."""
    officer = await people("officer")
    status, body = await officer.post("/api/v1/requests", _form(at("atlantis")))
    assert status == 422
    assert body["error"]["code"] == "unknown_area"
    assert set(body["error"]["fields"]) == {"location.area_id"}


async def test_request_keeps_area_board_and_the_areas_phone(people: Any) -> None:
    """The request records its area id and board; the free text stays; with nobody on duty
    the fallback phone is the area's own."""
    officer = await people("officer")
    created = await new_request(officer, **at("musselburgh"))
    assert created["location"]["area_id"] == "musselburgh"
    assert created["location"]["area"] == "somewhere"
    assert created["board"] == "lothian"
    assert created["fallback"]["reason"] == "no_clinician_on_duty"
    assert created["fallback"]["phone"] == "0131 000 0002"


async def test_other_board_cannot_accept_before_overflow(people: Any, clock: FakeClock) -> None:
    """With a Lothian clinician on duty, a Glasgow clinician gets 404 accepting a Lothian
    request before its overflow time (120 s for priority 2), and can accept it after."""
    officer, glasgow = await people("officer"), await people("clinician", "glasgow")
    async with on_duty(await people("clinician", "lothian")):
        created = await new_request(officer, **at("leith"), urgency="urgent")
        status, body = await glasgow.post(f"/api/v1/requests/{created['id']}/accept")
        assert (status, body["error"]["code"]) == (404, "not_found")
        clock.advance(119)
        assert (await glasgow.post(f"/api/v1/requests/{created['id']}/accept"))[0] == 404
        clock.advance(1)
        status, body = await glasgow.post(f"/api/v1/requests/{created['id']}/accept")
        assert status == 200 and body["status"] == "in_session"


async def test_queue_and_next_follow_the_offer(people: Any, clock: FakeClock) -> None:
    """Each board's clinicians see and take their board's requests first; a clinician of
    every board sees all; after overflow (30 s for priority 1) everyone sees it."""
    officer = await people("officer")
    lothian, glasgow = await people("clinician", "lothian"), await people("clinician", "glasgow")
    everywhere = await people("clinician")
    async with on_duty(lothian), on_duty(glasgow):  # each board staffed: no overflow at once
        first = await new_request(officer, **at("leith"), urgency="immediate")
        clock.advance(1)
        second = await new_request(officer, **at("govan"), urgency="immediate")

    async def queue(clinician: ApiClient) -> list[str]:
        return [r["id"] for r in (await clinician.request("GET", "/api/v1/queue"))["waiting"]]

    assert await queue(lothian) == [first["id"]]
    assert await queue(glasgow) == [second["id"]]
    assert await queue(everywhere) == [first["id"], second["id"]]
    taken = await glasgow.request("POST", "/api/v1/queue/next")
    assert taken["id"] == second["id"]  # not the older Lothian request
    status, body = await (await people("clinician", "glasgow")).post("/api/v1/queue/next")
    assert (status, body["error"]["code"]) == (404, "queue_empty")
    clock.advance(30)
    assert await queue(glasgow) == [first["id"]]


async def test_on_duty_counts_the_clinicians_offered(people: Any, clock: FakeClock) -> None:
    """Clinicians on duty count only those the request is offered to: with a Lothian
    clinician on duty, a Glasgow one on duty does not count for a Lothian request until it
    overflows."""
    officer = await people("officer")
    glasgow, lothian = await people("clinician", "glasgow"), await people("clinician", "lothian")
    async with on_duty(glasgow), on_duty(lothian):
        created = await new_request(officer, **at("leith"), urgency="urgent")
        assert created["clinicians_on_duty"] == 1 and created["fallback"] is None
        clock.advance(120)
        seen = await officer.request("GET", f"/api/v1/requests/{created['id']}")
        assert seen["clinicians_on_duty"] == 2


async def test_upstream_counts_detentions_and_ed_per_area(people: Any, clock: FakeClock) -> None:
    """The upstream figures count, per area id and within a board, the requests beside the
    detentions (s297) and emergency department conveyances their outcomes led to."""
    officer = await people("officer")
    results: dict[str, list[dict[str, Any] | None]] = {
        "leith": [outcome("place_of_safety_s297", "B", "police")],
        "musselburgh": [outcome("emergency_department", "C", "ambulance"), None],
        "govan": [outcome("emergency_department", "C", "police")],
    }
    for area, outcomes in results.items():
        for result in outcomes:
            created = await new_request(officer, **at(area))
            clock.advance(60)
            clinician = await people("clinician")  # one session at a time each
            await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
            if result and result["disposition"] == "place_of_safety_s297":
                result["place_of_safety"] = dict(PLACE_OF_SAFETY, removed_at=_iso(clock.now_ms))
            if result:
                path = f"/api/v1/requests/{created['id']}/outcome"
                await clinician.request("POST", path, result)
    supervisor = await people("supervisor")
    query = f"from={_iso(DAY)}&to={_iso(DAY + 24 * H)}&board=lothian"
    lothian = (await supervisor.request("GET", f"/api/v1/stats?{query}"))["window"]
    assert lothian["upstream"] == {
        "leith": {"requests": 1, "detentions": 1, "ed_conveyances": 0},
        "musselburgh": {"requests": 2, "detentions": 0, "ed_conveyances": 1},
    }


async def test_a_board_limited_supervisor_sees_only_their_boards_live_figures(
    people: Any, clock: FakeClock
) -> None:
    """A supervisor limited to Glasgow sees Glasgow's queue, sessions and clinicians (those
    covering it), over REST and in the pushed `stats`; the whole-service one sees all."""
    officer = await people("officer")
    lothian, glasgow = await people("clinician", "lothian"), await people("clinician", "glasgow")
    everywhere = await people("clinician")
    await lothian.request("PUT", "/api/v1/availability", {"status": "available"})
    await everywhere.request("PUT", "/api/v1/availability", {"status": "offline"})
    for area in ("leith", "musselburgh", "govan", "govan"):
        created = await new_request(officer, **at(area))
    await glasgow.request("POST", f"/api/v1/requests/{created['id']}/accept")
    clock.advance(60)  # the window ends now, exclusive
    limited, whole = await people("supervisor", "glasgow"), await people("supervisor")
    mine = await limited.request("GET", "/api/v1/stats")
    assert (mine["queue"]["waiting"], mine["queue"]["in_session"]) == (1, 1)
    assert mine["clinicians"] == {"available": 0, "busy": 1, "offline": 1}
    everything = await whole.request("GET", "/api/v1/stats")
    assert (everything["queue"]["waiting"], everything["queue"]["in_session"]) == (3, 1)
    assert everything["clinicians"] == {"available": 1, "busy": 1, "offline": 1}
    for supervisor, waiting, areas in ((limited, 1, {"govan"}), (whole, 3, {"leith", "govan"})):
        ws = await supervisor.client.ws_connect("/ws")
        message = await ws.receive_json(timeout=6)
        while message["type"] != "stats":
            message = await ws.receive_json(timeout=6)
        assert message["stats"]["queue"]["waiting"] == waiting
        assert areas <= set(message["stats"]["window"]["by_area"])
        assert set(message["stats"]["window"]["by_area"]) <= {"leith", "musselburgh", "govan"}
        if supervisor is limited:
            assert set(message["stats"]["window"]["by_area"]) == {"govan"}
        await ws.close()


async def test_a_board_limited_supervisor_hears_only_their_boards_requests(
    people: Any, clock: FakeClock
) -> None:
    """Live `request.*` summaries reach a supervisor limited to Glasgow for Glasgow's
    requests only, waiting or taken; a supervisor of every board hears both."""
    officer = await people("officer")
    limited, whole = await people("supervisor", "glasgow"), await people("supervisor")
    sockets = {who: await who.client.ws_connect("/ws") for who in (limited, whole)}
    leith = await new_request(officer, **at("leith"))
    govan = await new_request(officer, **at("govan"))
    for created in (leith, govan):
        clinician = await people("clinician")  # one session at a time each
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    marker = await new_request(officer, **at("govan"))  # the last message both must get

    async def heard(ws: Any) -> set[tuple[str, str]]:
        seen: set[tuple[str, str]] = set()
        while ("created", marker["id"]) not in seen:
            message = await ws.receive_json(timeout=5)
            if message["type"] in ("request.created", "request.updated"):
                seen.add((message["type"].split(".")[1], message["request"]["id"]))
        return seen

    mine, everything = await heard(sockets[limited]), await heard(sockets[whole])
    assert {rid for _, rid in mine} == {govan["id"], marker["id"]}
    assert {rid for _, rid in everything} == {leith["id"], govan["id"], marker["id"]}
    assert ("updated", govan["id"]) in mine  # taken: told, as for its own board
    for ws in sockets.values():
        await ws.close()


async def test_statistics_per_board(people: Any, clock: FakeClock) -> None:
    """`board=` counts only that board's requests, by area id; an unknown board is 422; a
    supervisor limited to a board sees it by default and gets 403 for another."""
    officer = await people("officer")
    for area in ("leith", "leith", "musselburgh", "govan"):
        created = await new_request(officer, **at(area))
        clock.advance(60)
        clinician = await people("clinician")  # one session at a time each
        await clinician.request("POST", f"/api/v1/requests/{created['id']}/accept")
    supervisor = await people("supervisor")
    query = f"from={_iso(DAY)}&to={_iso(DAY + 24 * H)}"
    whole = (await supervisor.request("GET", f"/api/v1/stats?{query}"))["window"]
    assert whole["by_area"] == {"govan": 1, "leith": 2, "musselburgh": 1}
    lothian = (await supervisor.request("GET", f"/api/v1/stats?{query}&board=lothian"))["window"]
    assert (lothian["requests"], lothian["accepted"]) == (3, 3)
    assert lothian["by_area"] == {"leith": 2, "musselburgh": 1}
    assert lothian["wait_s"]["n"] == 3 and lothian["wait_s"]["p50"] == 60.0
    status, body = await supervisor.call("GET", f"/api/v1/stats?{query}&board=fife")
    assert (status, body["error"]["fields"]) == (422, {"board": "not a board of this service"})
    limited = await people("supervisor", "glasgow")
    mine = (await limited.request("GET", f"/api/v1/stats?{query}"))["window"]
    assert mine["by_area"] == {"govan": 1}
    assert (await limited.call("GET", f"/api/v1/stats?{query}&board=lothian"))[0] == 403
    csv = await limited.client.get(f"/api/v1/stats/export.csv?{query}")
    rows = (await csv.text()).splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    assert len(rows) == 2 and (row[header.index("area_id")], row[header.index("board")]) == (
        "govan",
        "glasgow",
    )


async def test_local_hours_in_a_non_uk_board(people: Any, clock: FakeClock) -> None:
    """A New York board's hours are New York's, across the change to daylight time on
    8 March 2026: 14:00 UTC is 09:00 on 2 March (EST) and 10:00 on 10 March (EDT)."""
    officer, supervisor = await people("officer"), await people("supervisor")
    await new_request(officer, **at("harlem"))
    clock.now_ms = DAY + 8 * 24 * H + 14 * H
    await new_request(officer, **at("harlem"))
    query = f"from={_iso(DAY)}&to={_iso(DAY + 10 * 24 * H)}&board=newyork&heat_map=true"
    window = (await supervisor.request("GET", f"/api/v1/stats?{query}"))["window"]
    assert window["by_hour"][9] == 1 and window["by_hour"][10] == 1
    assert sum(window["by_hour"]) == 2
    assert window["by_hour_of_week"][9] == 1 and window["by_hour_of_week"][24 + 10] == 1
    assert window["by_area_hour_of_week"]["harlem"][9] == 1
    whole = await supervisor.request("GET", f"/api/v1/stats?{query.replace('newyork', 'lothian')}")
    assert whole["window"]["requests"] == 0


async def test_new_york_days_start_at_new_york_midnight(people: Any, clock: FakeClock) -> None:
    """A board's daily series starts at its local midnight (05:00 UTC in winter)."""
    officer, supervisor = await people("officer"), await people("supervisor")
    clock.now_ms = DAY + 4 * H  # 23:00 on Sunday in New York
    await new_request(officer, **at("harlem"))
    query = f"from={_iso(DAY - 24 * H)}&to={_iso(DAY + 3 * 24 * H)}&board=newyork&series=true"
    points = (await supervisor.request("GET", f"/api/v1/stats?{query}"))["window"]["series"]
    starts = [p["from"] for p in points["points"]]
    assert starts[1] == _iso(DAY - 24 * H + 5 * H)
    assert [p["requests"] for p in points["points"]][:3] == [0, 1, 0]


@pytest.mark.slow  # runs the command line
async def test_malformed_areas_file_stops_serve(tmp_path: Path) -> None:
    """`serve` with a malformed areas file exits 2 with one line naming the problem."""
    path = tmp_path / "areas.toml"
    path.write_text('[boards.lothian]\nname = "NHS Lothian"\ntimezone = "Mars/Olympus"\n')
    env = {**clean_env(), "TRIAGE_AREAS_FILE": str(path)}
    code, _, err = await run("serve", "--data-dir", str(tmp_path), env=env, timeout=30)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "areas_file" in err and "timezone" in err and "Mars/Olympus" in err


@pytest.mark.slow  # runs the command line
async def test_user_add_refuses_an_unknown_board(tmp_path: Path) -> None:
    """`user add --boards` names an unknown board and exits 2 before touching the store."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    env = {**clean_env(), "TRIAGE_AREAS_FILE": str(path)}
    args = ("user", "add", "c1", "--role", "clinician", "--boards", "lothian,fife")
    code, _, err = await run(*args, "--password-stdin", env=env, stdin="x" * 12 + "\n")
    assert code == 2 and "fife" in err and len(err.strip().splitlines()) == 1


def _form(changes: dict[str, Any]) -> dict[str, Any]:
    from triage_client.forms import request_form

    return request_form(**changes)


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def test_example_areas_file_is_valid() -> None:
    """docs/areas.example.toml parses, with the service's zone where a board gives none."""
    text = (Path(__file__).parent.parent / "docs" / "areas.example.toml").read_text()
    areas = parse_directory(text, default_timezone="Europe/London")
    assert areas.board_ids == ("lothian", "glasgow")
    assert areas.match("edinburgh leith") == areas.area("leith")
    assert areas.nearest(55.86, -4.31) == areas.area("govan")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[boards.lothian]\n", "boards.lothian.name: Field required"),
        ("boards = 3", "boards: Input should be a valid dictionary"),
        ("[boards.x\n", "not valid TOML"),
        (AREAS.replace('id = "govan"', 'id = "leith"'), "area id 'leith' is repeated"),
    ],
)
def test_malformed_areas_files_name_the_problem(text: str, problem: str) -> None:
    """Each malformed file is refused with one line naming where the problem is."""
    with pytest.raises(AreaFileError) as caught:
        parse_directory(text, default_timezone="Europe/London")
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_offer_rule() -> None:
    """A request is offered to its board's clinicians, to all-board clinicians, to everyone
    when it has no board, and to everyone from its overflow time."""
    assert offered_to(("lothian",), board="lothian", overflow_ms=100, now_ms=0)
    assert offered_to((), board="lothian", overflow_ms=100, now_ms=0)
    assert offered_to(("glasgow",), board="", overflow_ms=100, now_ms=0)
    assert not offered_to(("glasgow",), board="lothian", overflow_ms=100, now_ms=99)
    assert offered_to(("glasgow",), board="lothian", overflow_ms=100, now_ms=100)
