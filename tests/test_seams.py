"""Safe at the seams (v1.2): the officer leaves only when released, one session per
clinician, the rules that still let slips through (far due times, the emergency department
without a conveyance), the board's own emergency number, referrals to a team nobody staffs,
consent and capacity, and call-back numbers."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    REDIS_URL,
    ApiClient,
    SignInFactory,
    in_session,
    new_request,
)
from triage_client.forms import request_form
from triage_service.domain.codes import Role
from triage_service.service.accounts import add_user
from triage_service.settings import Settings
from triage_service.web.state import STORE

AREAS = """
[boards.lothian]
name = "NHS Lothian"
timezone = "Europe/London"
[boards.lothian.teams.crisis_team]
name = "Lothian Crisis Team"
phone = "0131 000 0100"
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"

[boards.ontario]
name = "Ontario test board"
timezone = "America/Toronto"
emergency_number = "911"
[[boards.ontario.areas]]
id = "toronto"
name = "Toronto"
phone_fallback = "+1 416 000 0000"
"""


@pytest.fixture
def settings(key_prefix: str, tmp_path: Path) -> Settings:
    """Two boards from an areas file (one dialling 911), the Lothian crisis team's phone; no
    background sweeps (the tests sweep by hand)."""
    path = tmp_path / "areas.toml"
    path.write_text(AREAS)
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(path),
        sweep_interval_s=3600,
        requests_per_minute=100,
    )


def at(area_id: str, **changes: Any) -> dict[str, Any]:
    """Request form changes placing the request in `area_id`."""
    location = {"description": "Bus shelter, Great Junction St", "area_id": area_id}
    return {"location": location, **changes}


def outcome(**changes: Any) -> dict[str, Any]:
    """OUTCOME_FORM (code C, urgent face-to-face, crisis team C) with `changes`."""
    return {**OUTCOME_FORM, **changes}


async def file(clinician: ApiClient, request_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST the outcome; its status and answer."""
    return await clinician.post(f"/api/v1/requests/{request_id}/outcome", body)


def iso(when: datetime) -> str:
    """UTC ISO-8601 with a Z."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---- the officer leaves only when released ---------------------------------------------------


async def test_officer_is_released_only_when_the_clinician_says_so(
    sign_in: SignInFactory,
) -> None:
    """Without `officer_can_leave` (or with false) the officer's outcome has no release time,
    so their page tells them to stay; true without a time releases them at filing; false
    with a release time is a contradiction (422 naming `officer_can_leave`)."""
    officer = await sign_in("officer")
    results: dict[str, Any] = {}
    for name, extra in {
        "silent": {},
        "stay": {"officer_can_leave": False},
        "leave": {"officer_can_leave": True},
    }.items():
        clinician = await sign_in("clinician")
        request = await in_session(officer, clinician, **at("leith"))
        status, done = await file(clinician, request["id"], outcome(**extra))
        assert status == 201, done
        _, seen = await officer.get(f"/api/v1/requests/{request['id']}")
        results[name] = (seen["outcome"], seen["completed_at"])
    assert results["silent"][0]["officer_released_at"] is None
    assert results["stay"][0]["officer_released_at"] is None
    leave, completed_at = results["leave"]
    assert leave["officer_can_leave"] is True and leave["officer_released_at"] == completed_at
    clinician = await sign_in("clinician")
    request = await in_session(officer, clinician, **at("leith"))
    status, body = await file(
        clinician,
        request["id"],
        outcome(officer_can_leave=False, officer_released_at=iso(datetime.now(UTC))),
    )
    assert status == 422 and body["error"]["code"] == "officer_release_contradiction"
    assert list(body["error"]["fields"]) == ["officer_can_leave"]


# ---- one session per clinician ----------------------------------------------------------------


async def test_a_clinician_in_a_session_cannot_accept_or_take_another(
    sign_in: SignInFactory,
) -> None:
    """While in a session, accept and `queue/next` are 409 `already_in_session` and the
    other request keeps waiting; once the outcome is filed, the clinician may take it."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    first = await in_session(officer, clinician)
    waiting = await new_request(officer)
    status, body = await clinician.post(f"/api/v1/requests/{waiting['id']}/accept")
    assert status == 409 and body["error"]["code"] == "already_in_session"
    status, body = await clinician.post("/api/v1/queue/next")
    assert status == 409 and body["error"]["code"] == "already_in_session"
    _, still = await clinician.get(f"/api/v1/requests/{waiting['id']}")
    assert still["status"] == "waiting"
    assert (await file(clinician, first["id"], OUTCOME_FORM))[0] == 201
    status, taken = await clinician.post("/api/v1/queue/next")
    assert status == 200 and taken["id"] == waiting["id"]


async def test_one_clinician_racing_to_accept_two_requests_gets_one(
    sign_in: SignInFactory,
) -> None:
    """Two tabs of one clinician accepting two waiting requests at once: exactly one 200 and
    one 409 `already_in_session`, and exactly one request is in session."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    for _ in range(10):
        a, b = await new_request(officer), await new_request(officer)
        results = await asyncio.gather(
            clinician.post(f"/api/v1/requests/{a['id']}/accept"),
            clinician.post(f"/api/v1/requests/{b['id']}/accept"),
        )
        assert sorted(status for status, _ in results) == [200, 409], results
        [(_, refused)] = [r for r in results if r[0] == 409]
        assert refused["error"]["code"] == "already_in_session"
        [(_, won)] = [r for r in results if r[0] == 200]
        await clinician.post(f"/api/v1/requests/{won['id']}/release", {"reason": "again"})
        for request in (a, b):
            await officer.post(f"/api/v1/requests/{request['id']}/cancel")


# ---- the rules --------------------------------------------------------------------------------


async def test_referral_due_later_than_its_target_needs_a_reason(sign_in: SignInFactory) -> None:
    """A referral of urgency C (24 h) due in 30 hours is 422 `inconsistent_outcome` naming
    `referral.due_at`; with an `override_reason` it files; due in 20 hours it files as is."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    now = datetime.now(UTC)
    late = {"service": "crisis_team", "urgency": "C", "due_at": iso(now + timedelta(hours=30))}
    request = await in_session(officer, clinician)
    status, body = await file(clinician, request["id"], outcome(referral=late))
    assert status == 422 and body["error"]["code"] == "inconsistent_outcome"
    assert body["error"]["fields"] == {
        "referral.due_at": "later than the response target of urgency C"
    }
    reason = "The person asked to be seen after their shift; risk reviewed and stable."
    status, done = await file(
        clinician, request["id"], outcome(referral=late, override_reason=reason)
    )
    assert status == 201, done
    assert done["outcome"]["override_reason"] == reason
    clinician = await sign_in("clinician")
    request = await in_session(officer, clinician)
    soon = {**late, "due_at": iso(now + timedelta(hours=20))}
    assert (await file(clinician, request["id"], outcome(referral=soon)))[0] == 201


async def test_emergency_department_needs_a_conveyance(sign_in: SignInFactory) -> None:
    """An emergency department disposition with conveyance `none` (or none given) is 422
    naming `conveyance`, not overridable; with an ambulance it files."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    ed = outcome(triage_code="B", disposition="emergency_department", referral=None)
    for body in (ed, {**ed, "conveyance": "none", "override_reason": "Family will drive her."}):
        status, answer = await file(clinician, request["id"], body)
        assert status == 422 and answer["error"]["code"] == "conveyance_required", answer
        assert list(answer["error"]["fields"]) == ["conveyance"]
    status, done = await file(clinician, request["id"], {**ed, "conveyance": "ambulance"})
    assert status == 201, done


async def test_the_emergency_number_is_the_boards_own(sign_in: SignInFactory) -> None:
    """Ontario's officer is told 911 (in the fallback message, the request, the session page
    and the areas list) and Lothian's 999, never a number of another board."""
    officer = await sign_in("officer")
    toronto = await new_request(officer, **at("toronto"))
    leith = await new_request(officer, **at("leith"))
    assert toronto["emergency_number"] == "911" and leith["emergency_number"] == "999"
    assert "call 911 if anyone is in danger" in toronto["fallback"]["message"]
    assert "999" not in toronto["fallback"]["message"]
    assert "call 999 if anyone is in danger" in leith["fallback"]["message"]
    _, areas = await officer.get("/api/v1/areas")
    assert {b["id"]: b["emergency_number"] for b in areas["boards"]} == {
        "lothian": "999",
        "ontario": "911",
    }
    clinician = await sign_in("clinician")
    await clinician.post(f"/api/v1/requests/{toronto['id']}/accept")
    async with officer.client.get(f"/session/{toronto['id']}") as page:
        assert 'data-emergency-number="911"' in await page.text()


# ---- a team nobody staffs ----------------------------------------------------------------------


async def test_a_referral_to_an_unstaffed_team_warns_and_alarms(sign_in: SignInFactory) -> None:
    """With no enabled receiver in crisis_team:lothian a referral is still filed (201), the
    answer warns with the team's phone from the areas file, and a `referral_unstaffed` alarm
    is raised: critical for urgency B, a warning for C. A disabled receiver staffs nothing;
    an enabled one does (no warning)."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    answers = {}
    for urgency in ("B", "C"):
        clinician = await sign_in("clinician")
        request = await in_session(officer, clinician, **at("leith"))
        referral = {"service": "crisis_team", "urgency": urgency}
        status, done = await file(
            clinician, request["id"], outcome(triage_code=urgency, referral=referral)
        )
        assert status == 201, done
        answers[urgency] = done
    [warning] = answers["B"]["warnings"]
    assert warning["code"] == "team_unstaffed" and warning["team"] == "crisis_team:lothian"
    assert (warning["name"], warning["phone"]) == ("Lothian Crisis Team", "0131 000 0100")
    assert "0131 000 0100" in warning["message"]
    _, listed = await supervisor.get("/api/v1/alarms")
    levels = {
        a["referral_id"]: a["level"] for a in listed["alarms"] if a["kind"] == "referral_unstaffed"
    }
    assert levels == {
        answers["B"]["referral"]["id"]: "critical",
        answers["C"]["referral"]["id"]: "warning",
    }
    disabled = await sign_in("receiver", team="crisis_team:lothian")
    store = cast(TestServer, officer.client.server).app[STORE]
    await store.accounts.save(disabled.user.id, {"disabled": "1"})
    clinician = await sign_in("clinician")
    request = await in_session(officer, clinician, **at("leith"))
    _, done = await file(clinician, request["id"], OUTCOME_FORM)
    assert [w["code"] for w in done["warnings"]] == ["team_unstaffed"]
    await sign_in("receiver", team="crisis_team:lothian")
    clinician = await sign_in("clinician")
    request = await in_session(officer, clinician, **at("leith"))
    _, done = await file(clinician, request["id"], OUTCOME_FORM)
    assert done["warnings"] == []


# ---- consent and capacity ---------------------------------------------------------------------


async def test_consent_given_lacking_capacity_or_declined_is_seen_and_counted(
    sign_in: SignInFactory,
) -> None:
    """`true` and `given` are given; `lacks_capacity` with a note and `declined` are queued
    (nobody is turned away); `lacks_capacity` without a note is 422 `capacity_note_required`
    and `false` 422 `consent_required`. The clinician sees the value and the note, the
    supervisor the value only; the statistics and the CSV count each."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor = await sign_in("supervisor")
    note = "Heavily intoxicated, cannot follow the conversation"
    made = [
        await new_request(officer, consent=True),
        await new_request(officer, consent="given"),
        await new_request(officer, consent="lacks_capacity", capacity_note=note),
        await new_request(officer, consent="declined"),
    ]
    assert [r["consent"] for r in made] == ["given", "given", "lacks_capacity", "declined"]
    assert all(r["status"] == "waiting" for r in made)
    status, body = await officer.post("/api/v1/requests", request_form(consent="lacks_capacity"))
    assert status == 422 and body["error"]["code"] == "capacity_note_required"
    assert list(body["error"]["fields"]) == ["capacity_note"]
    status, body = await officer.post("/api/v1/requests", request_form(consent=False))
    assert status == 422 and body["error"]["code"] == "consent_required"
    _, seen = await clinician.get(f"/api/v1/requests/{made[2]['id']}")
    assert (seen["consent"], seen["capacity_note"]) == ("lacks_capacity", note)
    _, withheld = await supervisor.get(f"/api/v1/requests/{made[2]['id']}")
    assert (withheld["consent"], withheld["capacity_note"]) == ("lacks_capacity", None)
    _, stats = await supervisor.get("/api/v1/stats")
    assert stats["window"]["consent"] == {"declined": 1, "given": 2, "lacks_capacity": 1}
    async with supervisor.client.get("/api/v1/stats/export.csv?window=24h") as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert sorted(row["consent"] for row in rows) == [
        "declined",
        "given",
        "given",
        "lacks_capacity",
    ]


# ---- call-back numbers -------------------------------------------------------------------------


async def test_call_back_numbers_reach_the_assigned_clinician(sign_in: SignInFactory) -> None:
    """The form's `officer_phone` (else the officer's account phone) and the clinician's
    account phone are on the request for the assigned clinician; the officer does not get
    the clinician's; a malformed number is 422 naming `officer_phone`."""
    officer = await sign_in("officer", phone="07700 900001")
    clinician = await sign_in("clinician", phone="0131 496 0000")
    given = await in_session(officer, clinician, officer_phone="+44 (0)7700-900123")
    _, seen = await clinician.get(f"/api/v1/requests/{given['id']}")
    assert seen["officer"]["phone"] == "+44 (0)7700-900123"
    assert seen["clinician"]["phone"] == "0131 496 0000"
    _, own = await officer.get(f"/api/v1/requests/{given['id']}")
    assert own["officer"]["phone"] == "+44 (0)7700-900123" and "phone" not in own["clinician"]
    await file(clinician, given["id"], OUTCOME_FORM)
    from_account = await in_session(officer, clinician)
    _, seen = await clinician.get(f"/api/v1/requests/{from_account['id']}")
    assert seen["officer"]["phone"] == "07700 900001"
    for bad in ("12345", "call me maybe", "0" * 21):
        status, body = await officer.post("/api/v1/requests", request_form(officer_phone=bad))
        assert status == 422 and list(body["error"]["fields"]) == ["officer_phone"], bad


async def test_an_account_phone_is_checked(sign_in: SignInFactory) -> None:
    """`user add --phone` keeps a valid number on the account and refuses a malformed one."""
    officer = await sign_in("officer")
    store = cast(TestServer, officer.client.server).app[STORE]
    user = await add_user(
        store,
        username="dr-who",
        role=Role.CLINICIAN,
        password="correct horse battery staple",
        phone="0131 496 0001",
    )
    assert (await store.accounts.load(user.id))["phone"] == "0131 496 0001"
    with pytest.raises(ValueError, match="phone"):
        await add_user(
            store,
            username="dr-no",
            role=Role.CLINICIAN,
            password="correct horse battery staple",
            phone="ring ring",
        )
