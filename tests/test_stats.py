"""GET /api/v1/stats: a scripted day, window boundaries and a brute-force recomputation."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from stats_random import make_random_requests
from stats_truth import load_all, series_truth, window_truth

from conftest import REDIS_URL, REQUEST_FORM, ApiClient, FakeClock, SignInFactory
from support.forms import iso, outcome
from triage_service.service.timers import sweep_due
from triage_service.settings import Settings
from triage_service.stats import window as stats_window
from triage_service.web.state import STORE

DAY = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday, 00:00 UTC
H, M, S = 3_600_000, 60_000, 1000


@pytest.fixture
def clock() -> FakeClock:
    """The scripted day's clock, starting at midnight."""
    return FakeClock(DAY)


@pytest.fixture
def settings(key_prefix: str) -> Settings:
    """Test settings: s298 notices due in a day (one is nearly due by the evening), sign-ins
    that outlive the scripted day, and a sweeper that leaves expiry to the script."""
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        sweep_interval_s=3600,
        mwc_notice_days=1,
        session_absolute_s=30 * 86400,
    )


def form(
    urgency: str, area: str, *, age_band: str = "26_40", sex: str = "female"
) -> dict[str, Any]:
    """A request form without a C-SSRS screen, so priority follows urgency alone."""
    body = copy.deepcopy(REQUEST_FORM)
    body.update(urgency=urgency, screening={})
    body["location"]["area"] = area
    body["subject"].update(age_band=age_band, sex=sex)
    return body


class Day:
    """Drives the scripted day through the REST API, moving the clock before each call."""

    def __init__(self, clock: FakeClock, officer: ApiClient, clinician: ApiClient) -> None:
        self.clock, self.officer, self.clinician = clock, officer, clinician

    async def call(self, at: int, who: ApiClient, method: str, path: str, body: Any = None) -> Any:
        self.clock.now_ms = DAY + at
        status, answer = await who.call(method, path, body)
        assert status in (200, 201), (path, answer)
        return answer

    async def request(self, at: int, urgency: str, area: str, **kw: str) -> str:
        answer = await self.call(
            at, self.officer, "POST", "/api/v1/requests", form(urgency, area, **kw)
        )
        return str(answer["id"])

    async def assess(
        self, rid: str, accept: int, done: int, result: dict[str, Any], who: ApiClient | None = None
    ) -> None:
        await self.call(accept, who or self.clinician, "POST", f"/api/v1/requests/{rid}/accept")
        await self.call(
            done, who or self.clinician, "POST", f"/api/v1/requests/{rid}/outcome", result
        )


async def script_day(day: Day, other: ApiClient, app: web.Application) -> str:
    """Ten requests with known waits and outcomes; returns the completed DBI referral id."""
    c = day.clinician
    await day.call(0, c, "PUT", "/api/v1/availability", {"status": "available"})
    a = await day.request(8 * H + 10 * M, "urgent", "North", age_band="18_25", sex="male")
    await day.assess(
        a,
        8 * H + 11 * M + 30 * S,
        8 * H + 31 * M + 30 * S,
        outcome("resolved_on_scene", "E", officer_released_at=iso(DAY + 8 * H + 35 * M)),
    )
    b = await day.request(9 * H, "immediate", "South")
    pos = {
        "name": "Royal Infirmary",
        "address": "1 Hospital Rd",
        "is_police_station": False,
        "removed_at": iso(DAY + 9 * H + 30 * M),
        "person_name": "Jane Doe",
        "person_address": "1 High St",
        "circumstances": "Distressed in the street, a public place.",
    }
    await day.assess(
        b,
        9 * H + 40 * S,
        9 * H + 45 * M + 40 * S,
        outcome("place_of_safety_s297", "B", "police", place_of_safety=pos),
    )
    c_id = await day.request(10 * H + 15 * M, "routine", "North")
    await day.assess(
        c_id,
        10 * H + 27 * M,
        10 * H + 57 * M,
        outcome("dbi_referral", "F", referral={"service": "dbi", "urgency": "E"}),
    )
    d = await day.request(11 * H, "routine", "South")
    await day.call(11 * H + 10 * S, day.officer, "POST", f"/api/v1/requests/{d}/cancel")
    e = await day.request(12 * H, "urgent", "North")
    await day.call(12 * H + 5 * M, day.officer, "POST", f"/api/v1/requests/{e}/cancel")
    await day.request(13 * H, "routine", "South")
    assert await sweep_due(app[STORE], DAY + 13 * H + 16 * M) == 1  # expires after 15 min
    g = await day.request(14 * H, "immediate", "")
    await day.assess(
        g,
        14 * H + 5 * M,
        14 * H + 20 * M,
        outcome(
            "emergency_department", "A", "ambulance", officer_released_at=iso(DAY + 14 * H + 50 * M)
        ),
    )
    h = await day.request(15 * H, "urgent", "North")
    await day.call(15 * H + M, c, "POST", f"/api/v1/requests/{h}/accept")
    await day.call(15 * H + 2 * M, c, "POST", f"/api/v1/requests/{h}/release", {"reason": "x"})
    await day.assess(h, 15 * H + 4 * M, 15 * H + 14 * M, outcome("advice_only", "G"))
    referrals = await day.call(16 * H, c, "GET", "/api/v1/referrals?status=open")
    dbi = next(r["id"] for r in referrals["referrals"] if r["service"] == "dbi")
    await day.call(20 * H, c, "PATCH", f"/api/v1/referrals/{dbi}", {"status": "completed"})
    await day.call(23 * H, c, "PUT", "/api/v1/availability", {"status": "offline"})
    j = await day.request(23 * H + 50 * M, "urgent", "North")
    await day.call(23 * H + 50 * M, other, "PUT", "/api/v1/availability", {"status": "available"})
    await day.call(23 * H + 52 * M, other, "POST", f"/api/v1/requests/{j}/accept")
    await day.request(23 * H + 55 * M, "immediate", "South")
    day.clock.now_ms = DAY + 23 * H + 59 * M
    return str(dbi)


async def test_scripted_day_every_figure(
    sign_in: SignInFactory, clock: FakeClock, app: web.Application
) -> None:
    """A day with known waits and outcomes gives exactly the expected figures and alarms."""
    day = Day(clock, await sign_in("officer"), await sign_in("clinician"))
    await script_day(day, await sign_in("clinician"), app)
    status, stats = await (await sign_in("supervisor")).get(
        "/api/v1/stats?window=24h&heat_map=true&series=true"
    )
    assert status == 200, stats
    assert stats["queue"] == {
        "waiting": 1,
        "by_priority": {"1": 1, "2": 0, "3": 0},
        "longest_wait_s": 240.0,
        "in_session": 1,
        "escalated": 1,
        "longest_wait_by_priority_s": {"1": 240.0, "2": None, "3": None},
    }
    assert stats["clinicians"] == {"available": 0, "busy": 1, "offline": 1}
    assert stats["referrals"] == {
        "open": 1,
        "overdue": 0,
        "mwc_open": 1,
        "mwc_overdue": 0,
        "mwc_due_soon": 1,
    }
    assert sorted(a["kind"] for a in stats["alarms"]) == [
        "no_clinician_available",
        "s298_due_soon",
        "waiting_past_threshold",
    ]
    w = stats["window"]
    assert (w["from"], w["to"]) == (iso(DAY - M), iso(DAY + 23 * H + 59 * M))
    assert {
        k: w[k]
        for k in (
            "requests",
            "accepted",
            "completed",
            "cancelled",
            "expired",
            "abandoned",
            "answered_pct",
        )
    } == {
        "requests": 10,
        "accepted": 6,
        "completed": 5,
        "cancelled": 2,
        "expired": 1,
        "abandoned": 1,
        "answered_pct": 60.0,
    }
    # waits 40, 60, 90, 120, 300, 720 s (H keeps its first wait after the release)
    assert w["wait_s"] == {"n": 6, "mean": 221.7, "p50": 90.0, "p90": 720.0, "max": 720.0}
    assert w["service_level"] == {
        "threshold_s": 600,
        "pct": 83.3,
        "within": 5,
        "answered": 6,
        "offered": 8,
        "pct_of_offered": 62.5,
        "today_pct": 83.3,
    }
    # assessments 600 (H, from its second accept), 900, 1200, 1800, 2700 s
    assert w["assessment_s"] == {"n": 5, "mean": 1440.0, "p50": 1200.0}
    # police time 840, 1500, 2520, 2740, 3000 s (released at the outcome unless given)
    assert w["police_s"] == {"n": 5, "mean": 2120.0, "p50": 2520.0}
    assert w["dispositions"] == {
        "advice_only": 1,
        "dbi_referral": 1,
        "emergency_department": 1,
        "place_of_safety_s297": 1,
        "resolved_on_scene": 1,
    }
    # One area in the default directory: every request is counted under its id.
    assert w["by_area"] == {"default": 10}
    assert w["upstream"] == {"default": {"requests": 10, "detentions": 1, "ed_conveyances": 1}}
    assert w["by_hour"] == [0] * 8 + [1] * 8 + [0] * 7 + [2]
    assert w["by_priority"] == {"1": 3, "2": 4, "3": 3}
    assert w["by_age_band"] == {"18_25": 1, "26_40": 9}
    assert w["by_sex"] == {"female": 9, "male": 1}
    assert w["triage_codes"] == {"A": 1, "B": 1, "E": 1, "F": 1, "G": 1}
    assert w["conveyances"] == {"ambulance": 1, "none": 3, "police": 1}
    assert (w["conveyance_avoided"], w["resolved_on_scene"], w["overrides"]) == (4, 1, 0)
    assert w["detentions"] == {
        "place_of_safety_s297": 1,
        "medical_examination_detention": 0,
        "total": 1,
    }
    # The DBI referral: made 10:57, completed 20:00 (9 h 3 min), due 10:57 the next day.
    assert w["referrals"] == {
        "made": 1,
        "due": 1,
        "completed": 1,
        "completed_on_time": 1,
        "on_time_pct": 100.0,
        "completion_s": {"n": 1, "mean": 32580.0, "p50": 32580.0},
    }
    # The s298 notice is due 14 days after the removal: still open, it is no failure yet.
    assert w["mwc_notifications"] == {
        "made": 1,
        "due": 0,
        "completed": 0,
        "completed_on_time": 0,
        "on_time_pct": None,
        "completion_s": None,
    }
    assert w["by_area_hour_of_week"]["default"][8] == 1  # Monday 08:00
    assert sum(w["by_area_hour_of_week"]["default"]) == 10
    points = w["series"]["points"]
    assert w["series"]["step_s"] == 3600 and len(points) == 25
    assert points[11] == {
        "from": iso(DAY + 10 * H),
        "requests": 1,
        "accepted": 1,
        "within": 0,
        "service_level_pct": 0.0,
        "wait_mean_s": 720.0,
        "wait_p50_s": 720.0,
        "wait_p90_s": 720.0,
    }
    assert [p["requests"] for p in points] == [0] + [0] * 8 + [1] * 8 + [0] * 7 + [2]


async def test_window_boundaries_are_exact(sign_in: SignInFactory, clock: FakeClock) -> None:
    """from is inclusive and to exclusive, to the millisecond, aligned to an hour or not."""
    officer = await sign_in("officer")
    start, end = DAY + 10 * H + 20 * M, DAY + 13 * H + 40 * M
    for at in (start - 1, start, start + 1, DAY + 12 * H, end - 1, end, end + 1):
        clock.now_ms = at
        status, _ = await officer.post("/api/v1/requests", form("urgent", "North"))
        assert status == 201
    supervisor = await sign_in("supervisor")
    for a, b, expected in (
        (start, end, 4),
        (start + 1, end - 1, 2),
        (DAY + 10 * H, DAY + 13 * H, 4),
        (start, start + 1, 1),
        (DAY + 12 * H, DAY + 12 * H + 1, 1),
    ):
        status, stats = await supervisor.get(f"/api/v1/stats?from={iso(a)}&to={iso(b)}")
        assert status == 200, stats
        assert stats["window"]["requests"] == expected, (iso(a), iso(b))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=2h", "window"),
        ("from=2026-03-02T00:00:00Z", "to"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
        ("from=yesterday&to=2026-03-01T00:00:00Z", "from"),
        ("from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
        ("window=24h&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z", "window"),
    ],
)
async def test_bad_windows_are_422(sign_in: SignInFactory, query: str, field: str) -> None:
    """A bad window answers 422 naming the field, never 500."""
    status, body = await (await sign_in("supervisor")).get(f"/api/v1/stats?{query}")
    assert status == 422, body
    assert field in body["error"]["fields"]


async def test_only_supervisors_read_stats(sign_in: SignInFactory) -> None:
    """Officers and clinicians get 403 from the statistics and the export."""
    for role in ("officer", "clinician"):
        client = await sign_in(role)
        assert (await client.get("/api/v1/stats"))[0] == 403
        assert (await client.get("/api/v1/stats/export.csv"))[0] == 403


@pytest.mark.parametrize(
    "hour_block_cost", [3, -100, 100], ids=["cheapest", "hour-less-rest", "slices-and-records"]
)
async def test_stats_match_brute_force(
    sign_in: SignInFactory,
    clock: FakeClock,
    app: web.Application,
    redis_client: aioredis.Redis,
    key_prefix: str,
    hour_block_cost: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For random requests over four days, random windows equal a recomputation from records,
    whether partial hours are read as slices and records or as their hour less the rest."""
    monkeypatch.setattr(stats_window, "HOUR_BLOCK_COST", hour_block_cost)
    rng = random.Random(20261126)
    await make_random_requests(app[STORE], app, rng, start_ms=DAY, hours=96, count=240)
    records, referrals = await load_all(redis_client, key_prefix)
    whole = window_truth(records, referrals, DAY, DAY + 96 * H)
    assert whole["overrides"] > 0 and whole["consent"]["lacks_capacity"] > 0
    supervisor = await sign_in("supervisor")
    clock.now_ms = DAY + 100 * H
    windows: list[tuple[int, ...]] = [
        (DAY, DAY + 96 * H),
        (DAY + 5 * H, DAY + 6 * H),
        (DAY + 30 * H + 10 * M, DAY + 30 * H + 50 * M),
    ]
    windows += [tuple(sorted(rng.sample(range(DAY - H, DAY + 97 * H), 2))) for _ in range(8)]
    for a, b in windows:
        status, found = await supervisor.get(
            f"/api/v1/stats?from={iso(a)}&to={iso(b)}&series=true&heat_map=true"
        )
        assert status == 200, found
        truth = window_truth(records, referrals, a, b, now_ms=clock.now_ms)
        got = {k: found["window"][k] for k in truth}
        got["service_level"] = {k: v for k, v in got["service_level"].items() if k != "today_pct"}
        assert got == truth, (iso(a), iso(b))
        points = [
            {k: v for k, v in p.items() if k != "from"} for p in found["window"]["series"]["points"]
        ]
        assert points == series_truth(records, a, b), (iso(a), iso(b))


async def test_supervisors_get_stats_pushed(sign_in: SignInFactory, clock: FakeClock) -> None:
    """A supervisor's live channel receives the last 24 hours' stats every few seconds; an
    officer's never does."""
    supervisor, officer = await sign_in("supervisor"), await sign_in("officer")
    clock.now_ms = DAY + 9 * H
    await officer.post("/api/v1/requests", form("urgent", "North"))
    sup_ws = await supervisor.client.ws_connect("/ws")
    officer_ws = await officer.client.ws_connect("/ws")
    message = await sup_ws.receive_json(timeout=6)
    while message["type"] != "stats":  # queue.changed and the like come too
        message = await sup_ws.receive_json(timeout=6)
    assert message["stats"]["queue"]["waiting"] == 1
    assert message["stats"]["window"]["from"] == iso(DAY - 15 * H)
    assert len(message["stats"]["window"]["series"]["points"]) == 24
    with pytest.raises(TimeoutError):
        while True:
            assert (await officer_ws.receive_json(timeout=3))["type"] != "stats"
    await sup_ws.close()
    await officer_ws.close()
