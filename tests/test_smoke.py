"""A first end-to-end pass through the REST API."""

from __future__ import annotations

from conftest import OUTCOME_FORM, REQUEST_FORM, SignInFactory


async def test_lifecycle_end_to_end(sign_in: SignInFactory) -> None:
    """An officer's request is accepted, chatted over and completed with a referral."""
    officer = await sign_in("officer")
    clinician = await sign_in("clinician")
    status, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    assert status == 201, created
    assert created["position"] == 1 and created["priority"] == 2
    rid = created["id"]
    status, _body = await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200
    status, queue = await clinician.get("/api/v1/queue")
    assert [item["id"] for item in queue["waiting"]] == [rid]
    status, accepted = await clinician.post(f"/api/v1/requests/{rid}/accept")
    assert status == 200, accepted
    assert accepted["status"] == "in_session"
    status, msg = await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "hello"})
    assert status == 201, msg
    status, msgs = await clinician.get(f"/api/v1/requests/{rid}/messages")
    assert [m["text"] for m in msgs["messages"]] == ["hello"]
    status, result = await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    assert status == 201, result
    assert result["request"]["status"] == "completed"
    assert result["referral"]["service"] == "crisis_team"
    status, _again = await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    assert status == 409


async def test_consent_is_named_alongside_other_mistakes(sign_in: SignInFactory) -> None:
    """An unticked consent box is reported even when other fields are wrong too."""
    officer = await sign_in("officer")
    form = {**REQUEST_FORM, "consent": False, "mode": "carrier-pigeon"}
    status, body = await officer.post("/api/v1/requests", form)
    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert set(body["error"]["fields"]) == {"consent", "mode"}


async def test_officer_release_before_the_request_is_refused(sign_in: SignInFactory) -> None:
    """An officer cannot be released before the request was made (422 on the field)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    outcome = {**OUTCOME_FORM, "officer_released_at": "2001-01-01T00:00:00Z"}
    status, body = await clinician.post(f"/api/v1/requests/{created['id']}/outcome", outcome)
    assert status == 422
    assert "officer_released_at" in body["error"]["fields"]
