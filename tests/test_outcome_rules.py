"""The outcome consistency rules: every cell of DOMAIN.md's code/disposition table, the
urgency order, s297 and DBI rules and due times, as pure rules and through the HTTP API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import OUTCOME_FORM, SignInFactory, in_session
from triage_service.domain.codes import AgeBand, Disposition, TriageCode
from triage_service.domain.errors import Invalid
from triage_service.domain.models import OutcomeForm
from triage_service.domain.outcome_rules import (
    FITTING_DISPOSITIONS,
    RequestFacts,
    check_outcome,
    rules_as_data,
)
from triage_service.service.retention import purge_outcome

# DOMAIN.md "Code and disposition", copied verbatim: the oracle the table in code must match.
DOMAIN_TABLE = """
| A | emergency_services, emergency_department, place_of_safety_s297, medical_examination_detention, informal_admission, not_completed |
| B | urgent_face_to_face, emergency_department, place_of_safety_s297, medical_examination_detention, informal_admission, emergency_services, criminal_justice, not_completed |
| C | urgent_face_to_face, dbi_referral, nhs24_mh_hub, emergency_department, informal_admission, place_of_safety_s297, medical_examination_detention, criminal_justice, not_completed |
| D | urgent_face_to_face, dbi_referral, non_urgent_referral, nhs24_mh_hub, resolved_on_scene, criminal_justice, not_completed |
| E | non_urgent_referral, dbi_referral, resolved_on_scene, advice_only, nhs24_mh_hub, criminal_justice, not_completed |
| F | non_urgent_referral, dbi_referral, resolved_on_scene, advice_only, nhs24_mh_hub, criminal_justice, not_completed |
| G | advice_only, resolved_on_scene, criminal_justice, not_completed |
"""  # noqa: E501
FITS = {
    row.split("|")[1].strip(): {d.strip() for d in row.split("|")[2].split(",")}
    for row in DOMAIN_TABLE.strip().splitlines()
}
CELLS = [(code, d.value) for code in "ABCDEFG" for d in Disposition]

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
FACTS = RequestFacts(created_at=NOW - timedelta(minutes=40), age_band=AgeBand.AGE_26_40)
OVERRIDE = "Person refuses admission; safety plan with family agreed."
PLACE = {
    "name": "Royal Infirmary A&E",
    "address": "84 Castle St, Glasgow",
    "is_police_station": False,
    "removed_at": "2026-11-26T01:30:00Z",
    "person_name": "Jane Doe",
    "person_address": "1 High St, Glasgow",
    "circumstances": "On the railway bridge, distressed, in a public place.",
}


def outcome(code: str, disposition: str, **fields: Any) -> OutcomeForm:
    """An outcome with `code` and `disposition` and what that disposition needs to be whole."""
    body: dict[str, Any] = {
        "triage_code": code,
        "disposition": disposition,
        "risk": {"to_self": "low", "to_others": "none"},
    }
    urgency = code if code in "ABCDE" else "E"
    if disposition in ("urgent_face_to_face", "non_urgent_referral"):
        body["referral"] = {"service": "cmht", "urgency": urgency}
    if disposition == "dbi_referral":
        body["referral"] = {"service": "dbi", "urgency": urgency}
    if disposition == "place_of_safety_s297":
        body["place_of_safety"] = PLACE
    if disposition == "emergency_department":
        body["conveyance"] = "ambulance"
    return OutcomeForm.model_validate({**body, **fields})


def rejected(form: OutcomeForm, facts: RequestFacts = FACTS, now: datetime = NOW) -> Invalid:
    """The `Invalid` (422) the rules raise for `form`."""
    with pytest.raises(Invalid) as caught:
        check_outcome(form, facts, now=now)
    return caught.value


# ---- the table ------------------------------------------------------------------------------


def test_table_in_code_is_domain_table() -> None:
    """The rules table is DOMAIN.md's, code for code, and the form gets the same data."""
    assert {c.value: {d.value for d in fits} for c, fits in FITTING_DISPOSITIONS.items()} == FITS
    data = rules_as_data({"B": 4, "C": 24, "D": 72, "E": 672})
    assert {code: set(fits) for code, fits in data["fits"].items()} == FITS


@pytest.mark.parametrize(("code", "disposition"), CELLS)
def test_every_table_cell_fits_or_is_inconsistent(code: str, disposition: str) -> None:
    """Each code x disposition: a fitting one files; any other is 422 naming `disposition`."""
    form = outcome(code, disposition)
    if disposition in FITS[code]:
        check_outcome(form, FACTS, now=NOW)
        return
    error = rejected(form)
    assert error.code == "inconsistent_outcome"
    assert error.fields == {"disposition": f"does not usually fit triage code {code}"}
    check_outcome(outcome(code, disposition, override_reason=OVERRIDE), FACTS, now=NOW)


@pytest.mark.parametrize("code", "ABCDE")
@pytest.mark.parametrize("urgency", "ABCDE")
def test_referral_may_not_be_less_urgent_than_code(code: str, urgency: str) -> None:
    """Codes A-E: a referral as or more urgent than the code fits; a less urgent one is a slip."""
    disposition = {"A": "emergency_department", "E": "non_urgent_referral"}.get(
        code, "urgent_face_to_face"
    )
    form = outcome(code, disposition, referral={"service": "crisis_team", "urgency": urgency})
    if urgency <= code:
        check_outcome(form, FACTS, now=NOW)
        return
    error = rejected(form)
    assert error.code == "inconsistent_outcome"
    assert error.fields == {"referral.urgency": f"less urgent than triage code {code}"}


@pytest.mark.parametrize("code", "FG")
def test_codes_f_and_g_take_any_referral_urgency(code: str) -> None:
    """Codes F and G have no response target, so no referral urgency is a slip for them."""
    for urgency in "ABCDE":
        referral = {"service": "gp", "urgency": urgency}
        check_outcome(outcome(code, "resolved_on_scene", referral=referral), FACTS, now=NOW)


def test_both_departures_are_named() -> None:
    """A wrong disposition and a too-slow referral are both named in one 422."""
    form = outcome("B", "non_urgent_referral", referral={"service": "gp", "urgency": "E"})
    assert set(rejected(form).fields) == {"disposition", "referral.urgency"}


def test_override_reason_only_when_departing() -> None:
    """A reason on an outcome that fits the rules is refused: there is nothing to override."""
    error = rejected(outcome("C", "urgent_face_to_face", override_reason=OVERRIDE))
    assert error.code == "override_unneeded" and "override_reason" in error.fields


@pytest.mark.parametrize("reason", ["too short", "x" * 1001])
def test_override_reason_length(reason: str) -> None:
    """An override reason is 10 to 1000 characters."""
    with pytest.raises(ValueError, match="override_reason"):
        outcome("G", "urgent_face_to_face", override_reason=reason)


# ---- s297 and DBI ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["person_name", "person_address", "circumstances"])
def test_place_of_safety_needs_s298_details(missing: str) -> None:
    """s298 needs the person's name and address and the circumstances: each missing one is 422."""
    form = outcome("B", "place_of_safety_s297", place_of_safety={**PLACE, missing: None})
    error = rejected(form)
    assert error.code == "place_of_safety_incomplete"
    assert error.fields == {f"place_of_safety.{missing}": "required for s298"}


@pytest.mark.parametrize(
    ("removed", "ok"),
    [
        (NOW + timedelta(minutes=5), True),
        (NOW + timedelta(minutes=5, seconds=1), False),
        (FACTS.created_at - timedelta(hours=24), True),
        (FACTS.created_at - timedelta(hours=24, seconds=1), False),
        (NOW + timedelta(days=3), False),
    ],
)
def test_removal_time_window(removed: datetime, ok: bool) -> None:
    """A removal is at most 5 min ahead of now and at most 24 h before the request."""
    form = outcome(
        "B", "place_of_safety_s297", place_of_safety={**PLACE, "removed_at": removed.isoformat()}
    )
    if ok:
        check_outcome(form, FACTS, now=NOW)
        return
    error = rejected(form)
    assert error.code == "removed_at_out_of_range" and "place_of_safety.removed_at" in error.fields


def test_police_station_needs_reason() -> None:
    """A police station as place of safety needs the reason no other place was used."""
    form = outcome(
        "B", "place_of_safety_s297", place_of_safety={**PLACE, "is_police_station": True}
    )
    assert rejected(form).fields == {"place_of_safety.police_station_reason": "required"}


def test_dbi_not_for_under_16() -> None:
    """A DBI referral for a person under 16 is refused, naming the request's age band."""
    young = RequestFacts(created_at=FACTS.created_at, age_band=AgeBand.UNDER_16)
    error = rejected(outcome("D", "dbi_referral"), young)
    assert error.code == "dbi_under_16" and "subject.age_band" in error.fields
    referral = {"service": "dbi", "urgency": "D"}
    assert rejected(outcome("D", "non_urgent_referral", referral=referral), young).code == (
        "dbi_under_16"
    )
    for band in (AgeBand.AGE_16_17, AgeBand.UNKNOWN):
        facts = RequestFacts(created_at=FACTS.created_at, age_band=band)
        check_outcome(outcome("D", "dbi_referral"), facts, now=NOW)


def test_dbi_referral_goes_to_dbi_service() -> None:
    """A DBI disposition with a referral to another service is refused, naming the service."""
    error = rejected(outcome("D", "dbi_referral", referral={"service": "gp", "urgency": "D"}))
    assert error.code == "dbi_service_required"
    assert error.fields == {"referral.service": "must be dbi for a DBI referral"}


def test_dbi_age_rule_is_not_overridable() -> None:
    """An override reason covers the code rules, not DBI's age limit."""
    young = RequestFacts(created_at=FACTS.created_at, age_band=AgeBand.UNDER_16)
    form = outcome("G", "dbi_referral", override_reason=OVERRIDE)
    assert rejected(form, young).code == "dbi_under_16"


def test_due_at_in_past_refused() -> None:
    """A referral due before now is refused, naming `referral.due_at`."""
    referral = {"service": "cmht", "urgency": "C", "due_at": "2026-11-26T01:59:59Z"}
    error = rejected(outcome("C", "urgent_face_to_face", referral=referral))
    assert error.code == "due_at_in_past" and error.fields == {
        "referral.due_at": "must not be in the past"
    }
    check_outcome(
        outcome("C", "urgent_face_to_face", referral={**referral, "due_at": NOW.isoformat()}),
        FACTS,
        now=NOW,
    )


# ---- through the HTTP API -------------------------------------------------------------------


def form(**changes: Any) -> dict[str, Any]:
    """OUTCOME_FORM (C, urgent face-to-face, crisis team C) with top-level fields replaced."""
    return {**copy.deepcopy(OUTCOME_FORM), **copy.deepcopy(changes)}


async def test_inconsistent_outcome_422_keeps_session(sign_in: SignInFactory) -> None:
    """Code A resolved on scene is 422 `inconsistent_outcome`; the session stays open."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/outcome"
    status, body = await clinician.post(
        path, form(triage_code="A", disposition="resolved_on_scene", referral=None)
    )
    assert status == 422 and body["error"]["code"] == "inconsistent_outcome"
    assert list(body["error"]["fields"]) == ["disposition"]
    _, still = await clinician.get(f"/api/v1/requests/{request['id']}")
    assert still["status"] == "in_session"


async def test_override_is_kept_shown_and_counted(sign_in: SignInFactory) -> None:
    """An override files, keeps its reason for the clinician, shows supervisors that one
    happened (not its free text) and counts in `window.overrides`."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor = await sign_in("supervisor")
    plain = await in_session(officer, clinician)
    status, body = await clinician.post(f"/api/v1/requests/{plain['id']}/outcome", OUTCOME_FORM)
    assert status == 201, body
    request = await in_session(officer, clinician)
    overridden = form(triage_code="G", override_reason=OVERRIDE)
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", overridden)
    assert status == 201, body
    assert body["outcome"]["override_reason"] == OVERRIDE
    _, mine = await clinician.get(f"/api/v1/requests/{request['id']}")
    assert mine["outcome"]["override_reason"] == OVERRIDE
    _, theirs = await supervisor.get(f"/api/v1/requests/{request['id']}")
    assert theirs["outcome"]["override_reason"] == "(free text withheld)"
    _, officers = await officer.get(f"/api/v1/requests/{request['id']}")
    assert officers["outcome"]["override_reason"] is None
    status, stats = await supervisor.get("/api/v1/stats?window=24h")
    assert status == 200, stats
    assert stats["window"]["overrides"] == 1 and stats["window"]["completed"] == 2


async def test_http_due_from_referral_urgency(sign_in: SignInFactory) -> None:
    """Code C with a referral of urgency B is due after B's 4 h target, not C's 24 h."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    referral = {"service": "crisis_team", "urgency": "B"}
    status, body = await clinician.post(
        f"/api/v1/requests/{request['id']}/outcome", form(referral=referral)
    )
    assert status == 201, body
    made, due = body["referral"]["created_at"], body["referral"]["due_at"]
    assert datetime.fromisoformat(due) - datetime.fromisoformat(made) == timedelta(hours=4)


async def test_http_dbi_under_16_refused(sign_in: SignInFactory) -> None:
    """The request's own age band reaches the rules: DBI for an under-16 is 422."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    subject = {"age_band": "under_16", "sex": "male"}
    request = await in_session(officer, clinician, subject=subject)
    dbi = form(
        triage_code="D", disposition="dbi_referral", referral={"service": "dbi", "urgency": "D"}
    )
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", dbi)
    assert status == 422 and body["error"]["fields"] == {
        "subject.age_band": "DBI is for people aged 16 and over"
    }


async def test_http_removal_in_future_refused(sign_in: SignInFactory) -> None:
    """An s297 removal dated 3 days ahead is 422 on `place_of_safety.removed_at`."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    s297 = form(
        triage_code="B",
        disposition="place_of_safety_s297",
        referral=None,
        place_of_safety={**PLACE, "removed_at": ahead},
    )
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", s297)
    assert status == 422 and list(body["error"]["fields"]) == ["place_of_safety.removed_at"]


async def test_http_past_due_at_refused(sign_in: SignInFactory) -> None:
    """A referral `due_at` an hour ago is 422 on `referral.due_at`."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    referral = {"service": "crisis_team", "urgency": "C", "due_at": past}
    status, body = await clinician.post(
        f"/api/v1/requests/{request['id']}/outcome", form(referral=referral)
    )
    assert status == 422 and list(body["error"]["fields"]) == ["referral.due_at"]


@pytest.mark.parametrize("code", list(TriageCode))
def test_rules_data_targets(code: TriageCode) -> None:
    """The form's data gives every referral urgency a target (A at once) and DBI 24 h."""
    data = rules_as_data({"B": 4, "C": 24, "D": 72, "E": 672})
    assert data["dbi_hours"] == 24
    if code in data["urgency_codes"]:
        assert data["targets_h"][code] == {"A": 0, "B": 4, "C": 24, "D": 72, "E": 672}[code]


def test_retention_purges_override_reason() -> None:
    """After retention the override's free text is gone, the fact of the override is not."""
    stored = outcome("G", "urgent_face_to_face", override_reason=OVERRIDE).model_dump(mode="json")
    purged = OutcomeForm.model_validate(purge_outcome(stored))
    assert purged.override_reason == "(free text purged)"
