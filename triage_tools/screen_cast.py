"""The screenshots' cast and history (`triage_tools.screens`): the accounts, the other
officers' requests already waiting, the alarms the backfilled weeks left handed over, and
last month's ratings for the board report."""

from __future__ import annotations

import random
from pathlib import Path

from aiohttp import web

from triage_client.forms import request_form
from triage_service.domain.codes import Counterfactual, Role
from triage_service.domain.models import FeedbackForm, RequestForm
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.users import User
from triage_service.export.csv import pages
from triage_service.report.month import last_month
from triage_service.service import lifecycle
from triage_service.service.accounts import hash_password, save_user
from triage_service.service.alarms import acknowledge, check_alarms, list_alarms
from triage_service.service.feedback import give_feedback
from triage_service.stats.window import Window
from triage_service.store.store import Store
from triage_service.web.state import SETTINGS, STORE
from triage_tools.simulate.accounts import create_accounts
from triage_tools.simulate.shift import Shift

REPORT_BOARD = "glasgow"
AREAS_FILE = Path(__file__).resolve().parents[1] / "docs" / "areas.example.toml"
PASSWORD = "screens-not-secret"
TEAM = "crisis_team:glasgow"
# Two requests already waiting when the officer asks (one ahead of theirs, one behind) and
# for how long, in seconds: the first past its priority's escalation threshold (60 s), so
# the supervisor has an open alarm.
WAITING = (
    (
        request_form(
            incident_ref="PS-20261126-0039",
            urgency="immediate",
            location={
                "description": "The Shore, by the bridge",
                "area": "Edinburgh Leith",
                "area_id": "leith",
            },
            subject={"age_band": "18_25", "sex": "male"},
            concerns=["self_harm", "intoxication"],
            mode="audio",
        ),
        75,
    ),
    (
        request_form(
            incident_ref="PS-20261126-0044",
            urgency="routine",
            location={
                "description": "Gilmour Street station",
                "area": "Paisley",
                "area_id": "paisley",
            },
            subject={"age_band": "65_plus", "sex": "female"},
            concerns=["confusion"],
            screening={},
        ),
        250,
    ),
)


async def create_cast(store: Store) -> dict[str, list[User]]:
    """The simulation's officers and clinicians, a supervisor and a receiving team."""
    users = await create_accounts(store, Shift(officers=3, clinicians=2, password=PASSWORD))
    password_hash = await hash_password(PASSWORD)
    supervisor = await save_user(
        store,
        username="supervisor",
        role=Role.SUPERVISOR,
        password_hash=password_hash,
        display_name="Fiona Grant",
    )
    await save_user(
        store,
        username="receiver",
        role=Role.RECEIVER,
        password_hash=password_hash,
        display_name="Glasgow crisis team",
        team=TEAM,
    )
    return {**users, "supervisor": [supervisor]}


async def hand_over(app: web.Application, supervisor: User) -> None:
    """Raise the alarms the backfilled weeks left (referrals overdue, s298 notices) and
    acknowledge them, as the supervisors of those shifts would have."""
    now_ms = wall_clock_ms()
    await check_alarms(app[STORE], app[SETTINGS], now_ms=now_ms)
    for alarm in await list_alarms(app[STORE], "open"):
        await acknowledge(app[STORE], supervisor, alarm.id, "Handed over.", now_ms=now_ms)


async def raise_waiting(app: web.Application, officers: list[User]) -> None:
    """Other officers' requests, created through the lifecycle as if sent a while ago."""
    now_ms = wall_clock_ms()
    for officer, (form, waited_s) in zip(officers, WAITING, strict=True):
        await lifecycle.create_request(
            app[STORE],
            app[SETTINGS],
            officer,
            RequestForm.model_validate(form),
            now_ms=now_ms - waited_s * 1000,
            idempotency_key=None,
        )


async def rate_last_month(app: web.Application, officers: list[User]) -> int:
    """The officers' ratings of last month's backfilled assessments (two in three), with what
    each would otherwise have done, so the board report has its estimates; how many."""
    board = app[SETTINGS].areas.board(REPORT_BOARD)
    if board is None:
        raise SystemExit(f"screens: {AREAS_FILE} has no board {REPORT_BOARD!r}")
    start, end = last_month(wall_clock_ms(), board.zone).span_ms(board.zone)
    by_id = {officer.id: officer for officer in officers}
    rng, rated = random.Random(2), 0
    async for ids in pages(app[STORE], Window(start, end)):
        for r in await app[STORE].requests.load_many(ids):
            officer = by_id.get(r.officer_id)
            if r.status != "completed" or officer is None or rng.random() > 0.67:
                continue
            said = rng.choice([*Counterfactual, None])
            saved = rng.choice([None, rng.randint(0, 180)])
            form = FeedbackForm(useful=rng.randint(3, 5), time_saved_min=saved, counterfactual=said)
            await give_feedback(app[STORE], officer, r.id, form, now_ms=wall_clock_ms())
            rated += 1
    return rated
