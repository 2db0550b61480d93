"""`POST /api/v1/requests/{id}/outcome/check`: the outcome form's review step asks the server,
which answers exactly what filing would (the same 422 on the same fields), filing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import SignInFactory, in_session
from support.forms import PLACE_OF_SAFETY, outcome, outcome_form

# Outcomes filing refuses, one per rule of domain/outcome_rules.py and the form's model.
REFUSED: dict[str, dict[str, Any]] = {
    "departure without a reason": outcome("advice_only", "B"),
    "a reason with nothing to override": outcome_form(override_reason="Because I think so."),
    "a reason too short": outcome("advice_only", "B", override_reason="no"),
    "s297 with no place of safety": outcome("place_of_safety_s297", "B"),
    "s297 without s298 details": outcome(
        "place_of_safety_s297", "B", place_of_safety={**PLACE_OF_SAFETY, "person_name": ""}
    ),
    "police station without why": outcome(
        "place_of_safety_s297", "B", place_of_safety={**PLACE_OF_SAFETY, "is_police_station": True}
    ),
    "ED with no conveyance": outcome("emergency_department", "B"),
    "referral less urgent than the code": outcome_form(
        triage_code="B", referral={"service": "crisis_team", "urgency": "D"}
    ),
    "no referral for a referral disposition": outcome_form(referral=None),
    "DBI to another service": outcome(
        "dbi_referral", "C", referral={"service": "gp", "urgency": "C"}
    ),
    "no code": outcome_form(triage_code=None),
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
async def test_check_refuses_what_filing_refuses_on_the_same_fields(
    sign_in: SignInFactory, body: dict[str, Any]
) -> None:
    """For each rule, the check answers the 422 (code and fields) that filing then answers,
    and the request is still in session after the check."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request_id = (await in_session(officer, clinician))["id"]
    checked = await clinician.post(f"/api/v1/requests/{request_id}/outcome/check", body)
    assert (await clinician.get(f"/api/v1/requests/{request_id}"))[1]["status"] == "in_session"
    filed = await clinician.post(f"/api/v1/requests/{request_id}/outcome", body)
    assert checked[0] == filed[0] == 422, (checked, filed)
    assert checked[1]["error"]["code"] == filed[1]["error"]["code"]
    assert checked[1]["error"]["fields"] == filed[1]["error"]["fields"]


async def test_check_passes_a_departure_with_its_reason_and_names_it(
    sign_in: SignInFactory,
) -> None:
    """A departure with its reason passes (200, naming the field it departs on) and files; a
    usual outcome passes with none."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request_id = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{request_id}/outcome"
    assert await clinician.post(f"{path}/check", outcome_form()) == (200, {"departures": {}})
    body = outcome("advice_only", "B", override_reason="She has a carer with her all night.")
    status, answer = await clinician.post(f"{path}/check", body)
    assert status == 200 and list(answer["departures"]) == ["disposition"]
    assert (await clinician.post(path, body))[0] == 201


async def test_check_is_only_for_the_clinician_in_session(sign_in: SignInFactory) -> None:
    """Another clinician gets 409 (as filing would), an officer 403; once filed, 409."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request_id = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{request_id}/outcome"
    other = await sign_in("clinician")
    assert (await other.post(f"{path}/check", outcome_form()))[0] == 409
    assert (await officer.post(f"{path}/check", outcome_form()))[0] == 403
    assert (await clinician.post(path, outcome_form()))[0] == 201
    assert (await clinician.post(f"{path}/check", outcome_form()))[0] == 409
