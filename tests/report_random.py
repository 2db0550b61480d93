"""Requests over two health boards in different time zones, written through the real
lifecycle scripts, for the board report's tests: many at the edges of a local month and
around its clock change, the rest at random, each with a random history (answers,
outcomes, referrals a team accepts or declines, s298 notices, officers' feedback)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from triage_client.forms import request_form
from triage_service.domain.codes import Role, TriageCode
from triage_service.domain.models import FeedbackForm, OutcomeForm, RequestForm
from triage_service.domain.outcome_rules import FITTING_DISPOSITIONS, departures
from triage_service.domain.users import User
from triage_service.service import lifecycle, referrals
from triage_service.service.feedback import give_feedback
from triage_service.store.store import Store
from triage_service.web.state import SETTINGS

H = 3_600_000
AREAS_FILE = """
[boards.lothian]
name = "NHS Lothian"
timezone = "Europe/London"
[boards.lothian.costs]
officer_hour = 50
s297_hours = 5
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"
population = 50000
[[boards.lothian.areas]]
id = "portobello"
name = "Portobello"
phone_fallback = "0131 000 0002"
population = 20000

[boards.gotham]
name = "Gotham Health"
timezone = "America/New_York"
[[boards.gotham.areas]]
id = "midtown"
name = "Midtown"
phone_fallback = "212 000 0001"
population = 100000
[[boards.gotham.areas]]
id = "harbor"
name = "Harbor"
phone_fallback = "212 000 0002"
"""
AREAS = {"lothian": ["leith", "portobello"], "gotham": ["midtown", "harbor"]}
ZONES = {"lothian": "Europe/London", "gotham": "America/New_York"}
# Weighted towards the outcomes the report counts apart.
DISPOSITIONS = [
    "place_of_safety_s297",
    "place_of_safety_s297",
    "medical_examination_detention",
    "emergency_department",
    "emergency_department",
    "resolved_on_scene",
    "resolved_on_scene",
    "advice_only",
    "dbi_referral",
    "non_urgent_referral",
    "urgent_face_to_face",
    "informal_admission",
    "criminal_justice",
    "not_completed",
]
NEEDS_REFERRAL = {"dbi_referral", "non_urgent_referral", "urgent_face_to_face"}
COUNTERFACTUALS = [
    None,
    "s297_removal",
    "s297_removal",
    "ed_conveyance",
    "ed_conveyance",
    "arrest",
    "no_support",
    "other_service",
    "same",
]
OFFICER = User(id="off1", username="o", display_name="Officer One", role=Role.OFFICER)


def local_ms(board: str, year: int, month: int, day: int) -> int:
    """Epoch ms of local midnight on `board`'s clock."""
    return int(datetime(year, month, day, tzinfo=ZoneInfo(ZONES[board])).timestamp() * 1000)


def edge_times() -> list[tuple[str, int]]:
    """Instants either side of March 2026's local edges and its clock change, per board."""
    changes = {  # the clocks go forward: 29 March 01:00 UTC in London, 8 March 07:00 UTC in NY
        "lothian": int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp() * 1000),
        "gotham": int(datetime(2026, 3, 8, 7, tzinfo=UTC).timestamp() * 1000),
    }
    found = []
    for board in AREAS:
        for edge in (local_ms(board, 2026, 3, 1), local_ms(board, 2026, 4, 1), changes[board]):
            found += [(board, edge + d) for d in (-3_600_001, -1, 0, 1, 3_599_999)]
    return found


def _form(rng: random.Random, board: str) -> RequestForm:
    body: dict[str, Any] = request_form()
    body.update(urgency=rng.choice(["immediate", "urgent", "routine"]), screening={})
    body["location"].update(area_id=rng.choice(AREAS[board]), area="")
    body["subject"].update(
        age_band=rng.choice(["16_17", "18_25", "26_40", "41_64", "65_plus", "unknown"]),
        sex=rng.choice(["female", "male", "other", "unknown"]),
    )
    return RequestForm.model_validate(body)


def _outcome(rng: random.Random, now_ms: int) -> OutcomeForm:
    """A random outcome fitting the code rules (or departing with a reason)."""
    disposition = rng.choice(DISPOSITIONS)
    fitting = [c for c in "ABCDEFG" if disposition in FITTING_DISPOSITIONS[TriageCode(c)]]
    code = rng.choice(fitting)
    made = datetime.fromtimestamp(now_ms / 1000, UTC)
    conveyance = rng.choice(["none", "police", "ambulance"])
    if disposition == "emergency_department":
        conveyance = rng.choice(["police", "ambulance"])
    body: dict[str, Any] = {
        "triage_code": code,
        "disposition": disposition,
        "risk": {"to_self": "low", "to_others": "none"},
        "conveyance": conveyance,
    }
    if rng.random() < 0.5:
        body["officer_released_at"] = made + timedelta(milliseconds=rng.randint(0, 2 * H))
    if disposition in NEEDS_REFERRAL:
        service = (
            "dbi" if disposition == "dbi_referral" else rng.choice(["gp", "cmht", "crisis_team"])
        )
        urgency = "ABCDE"[: "ABCDE".find(code) + 1] if code in "ABCDE" else "ABCDE"
        body["referral"] = {"service": service, "urgency": rng.choice(urgency)}
    if disposition == "place_of_safety_s297":
        station = rng.random() < 0.3
        body["place_of_safety"] = {
            "name": "Cell block" if station else "Ward 1",
            "address": "1 Road",
            "is_police_station": station,
            "police_station_reason": "No bed free in time." if station else None,
            "removed_at": made,
            "person_name": "A Person",
            "person_address": "2 Road",
            "circumstances": "In a public place",
        }
    form = OutcomeForm.model_validate(body)
    if not departures(form):
        return form
    return form.model_copy(update={"override_reason": "Departing on clinical judgement."})


async def _follow_up(
    store: Store,
    rng: random.Random,
    referral_id: str,
    made_ms: int,
    board: str,
    clinician: User,
) -> None:
    """A team accepts and completes (on time or late), declines, or records a non-attendance;
    or the referral stays open."""
    row = await store.client.hgetall(store.keys.referral(referral_id))
    due, team = int(row["due_ms"]), str(row.get("team") or "")
    receiver = User(id="rcv1", username="r", display_name="R", role=Role.RECEIVER, team=team)
    actor = receiver if team else clinician
    choice = rng.random()
    if choice < 0.15 and team:
        await referrals.update_referral(
            store, referral_id, "declined", "Not for us.", actor=actor, now_ms=made_ms + 60_000
        )
        return
    if choice < 0.3:
        return  # still pending
    await referrals.update_referral(
        store, referral_id, "accepted", None, actor=actor, now_ms=made_ms + 120_000
    )
    if choice < 0.5:
        return  # accepted, open
    status = "did_not_attend" if choice < 0.6 else "completed"
    late = choice > 0.85
    when = (
        due + rng.randint(1, H)
        if late
        else rng.randint(made_ms + 180_000, max(due, made_ms + 180_000))
    )
    await referrals.update_referral(store, referral_id, status, None, actor=actor, now_ms=when)


async def _notice(
    store: Store, rng: random.Random, notice_id: str, made_ms: int, clinician: User
) -> None:
    """An s298 notice sent on time, late, or not yet."""
    due = int(await store.client.hget(store.keys.referral(notice_id), "due_ms") or 0)
    choice = rng.random()
    if choice < 0.4:
        return
    when = rng.randint(made_ms, due) if choice < 0.8 else due + rng.randint(1, 5 * H)
    await referrals.update_referral(
        store, notice_id, "completed", None, actor=clinician, now_ms=when
    )


async def _assess(
    store: Store, app: web.Application, rng: random.Random, rid: str, created: int, board: str
) -> None:
    # One clinician per request: a session left open would bar a second (one at a time).
    clinician = User(id=f"clin-{rid}", username="c", display_name="Clin", role=Role.CLINICIAN)
    accepted = created + rng.choice([0, 499, 500, 599_499, 600_499, rng.randint(0, 1_200_000)])
    await lifecycle.accept_request(store, clinician, rid, now_ms=accepted)
    if rng.random() < 0.1:
        await lifecycle.release_request(store, clinician, rid, "dropped", now_ms=accepted + 5000)
        accepted += rng.randint(6000, 300_000)
        await lifecycle.accept_request(store, clinician, rid, now_ms=accepted)
    if rng.random() < 0.08:
        return  # still in session
    done = accepted + rng.randint(60_000, 3 * H)
    record = await lifecycle.file_outcome(
        store, app[SETTINGS], clinician, rid, _outcome(rng, done), now_ms=done
    )
    if record.referral_id:
        await _follow_up(store, rng, record.referral_id, done, board, clinician)
    if record.notice_id:
        await _notice(store, rng, record.notice_id, done, clinician)
    if rng.random() < 0.7:
        rating = FeedbackForm.model_validate(
            {
                "useful": rng.randint(1, 5),
                "time_saved_min": rng.choice([None, rng.randint(0, 600)]),
                "counterfactual": rng.choice(COUNTERFACTUALS),
            }
        )
        await give_feedback(store, OFFICER, rid, rating, now_ms=done + rng.randint(0, H))


async def make_request(
    store: Store, app: web.Application, rng: random.Random, board: str, created: int
) -> None:
    """One request of `board` created at `created`, with a random history."""
    record, _ = await lifecycle.create_request(
        store, app[SETTINGS], OFFICER, _form(rng, board), now_ms=created, idempotency_key=None
    )
    rid, fate = record.id, rng.random()
    if fate < 0.1:
        await lifecycle.cancel_request(
            store, app[SETTINGS], OFFICER, rid, now_ms=created + rng.randint(0, 900_000)
        )
    elif fate < 0.17:
        await lifecycle.expire_request(store, rid, now_ms=created + 900_000)
    elif fate < 0.22:
        return  # still waiting
    else:
        await _assess(store, app, rng, rid, created, board)


async def make_report_data(
    store: Store, app: web.Application, rng: random.Random, *, count: int, until_ms: int
) -> None:
    """The edge requests, `count` at random from February to `until_ms`, and a few in each
    of the eleven months before March for the trend."""
    for board, at in edge_times():
        await make_request(store, app, rng, board, at)
    start = local_ms("lothian", 2026, 2, 1)
    for _ in range(count):
        await make_request(store, app, rng, rng.choice(list(AREAS)), rng.randint(start, until_ms))
    first = local_ms("gotham", 2025, 4, 1)
    for _ in range(count // 4):
        await make_request(store, app, rng, rng.choice(list(AREAS)), rng.randint(first, start))
