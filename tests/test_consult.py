"""Consult: the session's clinician asks a colleague on duty to join the running call; the
colleague joins the call and chat until removed or the session ends, and never files."""

from __future__ import annotations

from typing import Any

from conftest import OUTCOME_FORM, ApiClient, SignInFactory, in_session, on_duty


async def consult(clinician: ApiClient, request_id: str, to: str) -> tuple[int, Any]:
    """POST .../consult {to} as `clinician`."""
    return await clinician.post(f"/api/v1/requests/{request_id}/consult", {"to": to})


async def audit_actions(admin: ApiClient, request_id: str) -> list[dict[str, Any]]:
    """The access log entries of a request."""
    status, body = await admin.get(f"/api/v1/audit?request_id={request_id}")
    assert status == 200, body
    entries: list[dict[str, Any]] = body["entries"]
    return entries


async def test_only_the_sessions_clinician_asks_a_colleague_on_duty(sign_in: SignInFactory) -> None:
    """An officer gets 403, another clinician 404; a colleague who is not a clinician, not on
    duty, or the clinician themself is 422 on `to`; a missing `to` is 422; a finished
    session is 409."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    stranger, colleague = await sign_in("clinician"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    rid = request["id"]
    assert (await consult(officer, rid, colleague.user.id))[0] == 403
    assert (await consult(stranger, rid, colleague.user.id))[0] == 404
    status, body = await consult(clinician, rid, colleague.user.id)  # console not open
    assert status == 422 and "to" in body["error"]["fields"], body
    for to in (officer.user.id, clinician.user.id, "nobody"):
        status, body = await consult(clinician, rid, to)
        assert status == 422 and "to" in body["error"]["fields"], (to, body)
    status, body = await clinician.post(f"/api/v1/requests/{rid}/consult", {})
    assert status == 422 and "to" in body["error"]["fields"]
    await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    async with on_duty(colleague):
        status, body = await consult(clinician, rid, colleague.user.id)
    assert status == 409 and body["error"]["code"] == "not_in_session", body


async def test_a_consultant_joins_chats_cannot_file_and_leaves(sign_in: SignInFactory) -> None:
    """The colleague is offered the call on their socket, is listed as a consultant, reads and
    writes the chat and may signal the officer; they cannot file (403) nor read the record;
    the audit and the chat name them; after DELETE they are out (404) and signals to them are
    refused."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    colleague, admin = await sign_in("clinician"), await sign_in("admin")
    rid = (await in_session(officer, clinician))["id"]
    async with on_duty(colleague):
        await colleague.open_live()
        status, body = await consult(clinician, rid, colleague.user.id)
        assert status == 201 and body["role"] == "consultant", body
        offered = await colleague.next_event("consult.offered")
    assert offered["request_id"] == rid and offered["from"]["id"] == clinician.user.id
    status, listed = await colleague.get(f"/api/v1/requests/{rid}/participants")
    assert status == 200, listed
    assert [p["role"] for p in listed["people"]] == ["officer", "clinician", "consultant"]
    assert "form" not in listed and "notes" not in str(listed)
    assert (await colleague.post(f"/api/v1/requests/{rid}/messages", {"text": "Hello"}))[0] == 201
    _, chat = await officer.get(f"/api/v1/requests/{rid}/messages")
    texts = [m["text"] for m in chat["messages"]]
    assert "Hello" in texts
    assert any(colleague.user.display_name in t and "consultant" in t for t in texts)
    status, body = await colleague.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    assert status == 403 and body["error"]["code"] == "consultant_cannot_file", body
    assert (await colleague.get(f"/api/v1/requests/{rid}"))[0] == 404

    await officer.open_live()
    await colleague.open_live()
    await officer.send_live(
        {"type": "signal", "request_id": rid, "to": colleague.user.id, "data": {"hello": True}}
    )
    assert (await colleague.signals(rid).get()) == {"hello": True}

    status, _ = await clinician.call(
        "DELETE", f"/api/v1/requests/{rid}/consult/{colleague.user.id}"
    )
    assert status == 204
    assert (await colleague.get(f"/api/v1/requests/{rid}/messages"))[0] == 404
    assert (await colleague.get(f"/api/v1/requests/{rid}/participants"))[0] == 404
    await officer.send_live(
        {"type": "signal", "request_id": rid, "to": colleague.user.id, "data": {"hello": True}}
    )
    refused = await officer.next_event("error")
    assert refused["error"]["code"] == "signal_refused"
    actions = {(e["action"], e.get("account_id")) for e in await audit_actions(admin, rid)}
    assert {("consult_started", colleague.user.id), ("consult_ended", colleague.user.id)} <= actions


async def test_the_consultant_leaves_by_themself_and_the_session_end_ends_the_consult(
    sign_in: SignInFactory,
) -> None:
    """A consultant may end their own consult (204); another consult ends with the session:
    once the outcome is filed the consultant reads nothing more (404), and the record still
    names both consultants for the session's clinician."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    first, second = await sign_in("clinician"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    async with on_duty(first), on_duty(second):
        assert (await consult(clinician, rid, first.user.id))[0] == 201
        assert (await consult(clinician, rid, second.user.id))[0] == 201
    path = f"/api/v1/requests/{rid}/consult/{first.user.id}"
    assert (await second.call("DELETE", path))[0] == 404  # not theirs to end
    assert (await first.call("DELETE", path))[0] == 204
    assert (await second.get(f"/api/v1/requests/{rid}/messages"))[0] == 200
    assert (await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM))[0] == 201
    assert (await second.get(f"/api/v1/requests/{rid}/messages"))[0] == 404
    assert (await second.post(f"/api/v1/requests/{rid}/messages", {"text": "x"}))[0] == 404
    _, record = await clinician.get(f"/api/v1/requests/{rid}/participants")
    assert [p["role"] for p in record["people"]] == ["officer", "clinician"]
    named = {(p["id"], p["role"]) for p in record["everyone"]}
    assert {(first.user.id, "consultant"), (second.user.id, "consultant")} <= named


async def test_a_call_takes_at_most_four(sign_in: SignInFactory) -> None:
    """Two consultants fill the call; a third colleague is 409 `call_full`."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    others = [await sign_in("clinician") for _ in range(3)]
    rid = (await in_session(officer, clinician))["id"]
    async with on_duty(others[0]), on_duty(others[1]), on_duty(others[2]):
        assert (await consult(clinician, rid, others[0].user.id))[0] == 201
        assert (await consult(clinician, rid, others[1].user.id))[0] == 201
        status, body = await consult(clinician, rid, others[2].user.id)
    assert status == 409 and body["error"]["code"] == "call_full"


async def test_the_colleagues_offered_are_on_duty_and_not_in_the_call(
    sign_in: SignInFactory,
) -> None:
    """GET .../colleagues lists clinicians on duty other than the session's clinician and
    those already consulting; only the session's clinician may read it (another 404)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    free, busy_elsewhere, off = (
        await sign_in("clinician"), await sign_in("clinician"), await sign_in("clinician")
    )  # fmt: skip
    del off  # signed in but no console open: not on duty
    rid = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{rid}/colleagues"
    async with on_duty(free), on_duty(busy_elsewhere):
        _, found = await clinician.get(path)
        assert {c["id"] for c in found["colleagues"]} == {free.user.id, busy_elsewhere.user.id}
        assert (await consult(clinician, rid, free.user.id))[0] == 201
        _, found = await clinician.get(path)
        assert [c["id"] for c in found["colleagues"]] == [busy_elsewhere.user.id]
        assert (await free.get(path))[0] == 404
