"""Random request histories written through the real lifecycle scripts, for statistics tests."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

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

AREAS = ["North", "South", "East", "", "=West"]
DISPOSITIONS = [
    "advice_only",
    "resolved_on_scene",
    "nhs24_mh_hub",
    "dbi_referral",
    "non_urgent_referral",
    "urgent_face_to_face",
    "emergency_department",
    "informal_admission",
    "place_of_safety_s297",
    "medical_examination_detention",
    "criminal_justice",
    "emergency_services",
    "not_completed",
]
NEEDS_REFERRAL = {"dbi_referral", "non_urgent_referral", "urgent_face_to_face"}
# Waits around the 600 s threshold and half-second rounding edges, and anything else.
EDGE_WAITS_MS = [0, 499, 500, 599_499, 600_499, 600_500, 59_999]


def _form(rng: random.Random, area_ids: Sequence[str | None]) -> RequestForm:
    body: dict[str, Any] = request_form()
    body.update(
        urgency=rng.choice(["immediate", "urgent", "routine"]),
        mode=rng.choice(["video", "audio", "text"]),
    )
    if rng.random() < 0.5:
        body["screening"] = {}
    body["location"]["area"] = rng.choice(AREAS)
    if area_ids:
        body["location"]["area_id"] = rng.choice(area_ids)
    body["subject"].update(
        age_band=rng.choice(["18_25", "26_40", "65_plus", "unknown"]),
        sex=rng.choice(["female", "male", "unknown"]),
    )
    # Consent follows from what was drawn (no draw of its own: the sequence stays as it was).
    subject = body["subject"]
    pick = len(subject["age_band"]) + len(subject["sex"]) + len(body["mode"])
    body["consent"] = [True, "given", "lacks_capacity", "declined"][pick % 4]
    if body["consent"] == "lacks_capacity":
        body["capacity_note"] = "Intoxicated and confused"
    return RequestForm.model_validate(body)


def _outcome(rng: random.Random, now_ms: int) -> OutcomeForm:
    """A random outcome that fits the code rules, or (one in ten) departs with a reason."""
    disposition = rng.choice(DISPOSITIONS)
    fitting = [c for c in "ABCDEFG" if disposition in FITTING_DISPOSITIONS[TriageCode(c)]]
    overridden = rng.random() < 0.1
    code = rng.choice("ABCDEFG" if overridden else fitting)
    body: dict[str, Any] = {
        "triage_code": code,
        "disposition": disposition,
        "risk": {"to_self": "low", "to_others": "none"},
        "conveyance": rng.choice(["none", "police", "ambulance", "other"]),
    }
    if disposition == "emergency_department" and body["conveyance"] == "none":
        body["conveyance"] = "ambulance"  # the emergency department needs a conveyance
    made = datetime.fromtimestamp(now_ms / 1000, UTC)
    if rng.random() < 0.5:
        body["officer_released_at"] = made + timedelta(milliseconds=rng.randint(0, 3_600_000))
    if disposition in NEEDS_REFERRAL:
        service = "dbi" if disposition == "dbi_referral" else rng.choice(["gp", "dbi", "cmht"])
        urgency = rng.choice("ABCDE"[: "ABCDE".find(code) + 1] if code in "ABCDE" else "ABCDE")
        body["referral"] = {"service": service, "urgency": urgency}
    if disposition == "place_of_safety_s297":
        body["place_of_safety"] = {
            "name": "Ward 1",
            "address": "1 Road",
            "is_police_station": False,
            "removed_at": made,
            "person_name": "A Person",
            "person_address": "2 Road",
            "circumstances": "In a public place",
        }
    form = OutcomeForm.model_validate(body)
    if not departures(form):
        return form
    return form.model_copy(update={"override_reason": "Departing on clinical judgement."})


def _wait(rng: random.Random) -> int:
    return rng.choice(EDGE_WAITS_MS) if rng.random() < 0.3 else rng.randint(0, 1_200_000)


async def _follow_up(
    store: Store, rng: random.Random, referral_id: str, made_ms: int, clinician: User
) -> None:
    row = await store.client.hgetall(store.keys.referral(referral_id))
    due = int(row["due_ms"])
    choice = rng.random()
    if choice < 0.4:
        await referrals.update_referral(
            store,
            referral_id,
            "completed",
            None,
            actor=clinician,
            now_ms=rng.randint(made_ms, max(made_ms, due)),
        )
    elif choice < 0.6:
        await referrals.update_referral(
            store,
            referral_id,
            "completed",
            None,
            actor=clinician,
            now_ms=due + rng.randint(1, H),
        )
    elif choice < 0.7 and row.get("kind") != "mwc_notification":  # a notice is sent or not
        await referrals.update_referral(
            store, referral_id, "did_not_attend", None, actor=clinician, now_ms=due
        )


H = 3_600_000


async def _assess(
    store: Store,
    app: web.Application,
    rng: random.Random,
    rid: str,
    created: int,
    clinician: User,
    officer: User,
) -> None:
    accepted = created + _wait(rng)
    await lifecycle.accept_request(store, clinician, rid, now_ms=accepted)
    if rng.random() < 0.15:
        await lifecycle.release_request(store, clinician, rid, "dropped", now_ms=accepted + 5000)
        accepted += rng.randint(6000, 300_000)
        await lifecycle.accept_request(store, clinician, rid, now_ms=accepted)
    if rng.random() < 0.1:
        return  # still in session
    done = accepted + rng.randint(30_000, 5_400_000)
    record = await lifecycle.file_outcome(
        store, app[SETTINGS], clinician, rid, _outcome(rng, done), now_ms=done
    )
    for referral_id in (record.referral_id, record.notice_id):
        if referral_id:
            await _follow_up(store, rng, referral_id, done, clinician)
    if rng.random() < 0.5:
        rating = FeedbackForm(
            useful=rng.randint(1, 5), time_saved_min=rng.choice([None, rng.randint(0, 600)])
        )
        await give_feedback(store, officer, rid, rating, now_ms=done + rng.randint(0, 3_600_000))


async def make_random_requests(
    store: Store,
    app: web.Application,
    rng: random.Random,
    *,
    start_ms: int,
    hours: int,
    count: int,
    area_ids: Sequence[str | None] = (),
) -> None:
    """`count` requests created at random times over `hours`, each with a random history
    (from one of `area_ids` at random, when given: None for a free-text place only)."""
    settings = app[SETTINGS]
    officer = User(id="off1", username="o", display_name="Officer One", role=Role.OFFICER)
    for n in range(count):
        # One clinician per request: a session left open would bar a second (one at a time).
        clinician = User(id=f"clin{n}", username="c", display_name="Clin", role=Role.CLINICIAN)
        created = start_ms + rng.randint(0, hours * H - 1)
        record, _ = await lifecycle.create_request(
            store, settings, officer, _form(rng, area_ids), now_ms=created, idempotency_key=None
        )
        rid, fate = record.id, rng.random()
        if fate < 0.12:
            await lifecycle.cancel_request(
                store,
                settings,
                officer,
                rid,
                now_ms=created + rng.choice([5000, 29_999, 30_000, rng.randint(0, 900_000)]),
            )
        elif fate < 0.22:
            await lifecycle.expire_request(store, rid, now_ms=created + 900_000)
        elif fate < 0.3:
            continue  # still waiting
        else:
            await _assess(store, app, rng, rid, created, clinician, officer)
