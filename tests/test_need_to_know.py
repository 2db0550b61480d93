"""Need-to-know for clinicians: a request, its chat and its referral only while it waits or to
the clinician who is (or was) assigned to it; anything else is 404."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from conftest import OUTCOME_FORM, ApiClient, Deployment, deployment, in_session, new_request

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Cases:
    """One service with an officer, the assigned clinician, a stranger clinician, a supervisor,
    and one request in each state the matrix reads."""

    running: Deployment
    officer: ApiClient
    assigned: ApiClient
    stranger: ApiClient
    supervisor: ApiClient
    ids: dict[str, str]
    referral_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cases() -> AsyncIterator[Cases]:
    """Requests waiting, in session, completed (with a referral), released and cancelled."""
    async with deployment(requests_per_minute=10_000) as running:
        officer = await running.sign_in("officer", display_name="Named Officer")
        assigned = await running.sign_in("clinician", display_name="Named Clinician")
        stranger = await running.sign_in("clinician")
        supervisor = await running.sign_in("supervisor")
        waiting = await new_request(officer, notes="Secret waiting notes")
        done = await in_session(officer, assigned, notes="Secret completed notes")
        status, filed = await assigned.post(f"/api/v1/requests/{done['id']}/outcome", OUTCOME_FORM)
        assert status == 201, filed
        session = await in_session(officer, assigned, notes="Secret session notes")
        cancelled = await new_request(officer)
        assert (await officer.post(f"/api/v1/requests/{cancelled['id']}/cancel"))[0] == 200
        ids = {
            "waiting": waiting["id"],
            "in_session": session["id"],
            "completed": done["id"],
            "cancelled": cancelled["id"],
        }
        yield Cases(running, officer, assigned, stranger, supervisor, ids, filed["referral"]["id"])


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        ("waiting", "stranger", 200),
        ("waiting", "assigned", 200),
        ("in_session", "assigned", 200),
        ("in_session", "stranger", 404),
        ("completed", "assigned", 200),
        ("completed", "stranger", 404),
        ("cancelled", "stranger", 404),
        ("in_session", "supervisor", 200),
        ("completed", "supervisor", 200),
    ],
)
async def test_request_read_matrix(cases: Cases, state: str, who: str, expected: int) -> None:
    """GET of a request: waiting or assigned is 200 for a clinician, else 404; supervisors read
    any (de-identified)."""
    client: ApiClient = getattr(cases, who)
    status, body = await client.get(f"/api/v1/requests/{cases.ids[state]}")
    assert status == expected, (state, who, body)
    if status == 404:
        assert body["error"]["code"] == "not_found"
        assert "Secret" not in json.dumps(body)


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        ("in_session", "assigned", 200),
        ("in_session", "stranger", 404),
        ("completed", "assigned", 200),
        ("completed", "stranger", 404),
        ("waiting", "stranger", 404),
    ],
)
async def test_chat_read_matrix(cases: Cases, state: str, who: str, expected: int) -> None:
    """GET of a chat: only the assigned clinician (and the owner officer) read it."""
    client: ApiClient = getattr(cases, who)
    status, body = await client.get(f"/api/v1/requests/{cases.ids[state]}/messages")
    assert status == expected, (state, who, body)


async def test_referral_list_holds_only_the_clinicians_own(cases: Cases) -> None:
    """The referral list shows the filing clinician their referral and a stranger none of it;
    supervisors still see it (without contact)."""
    _, mine = await cases.assigned.get("/api/v1/referrals?status=all")
    assert cases.referral_id in [r["id"] for r in mine["referrals"]]
    _, theirs = await cases.stranger.get("/api/v1/referrals?status=all")
    assert cases.referral_id not in [r["id"] for r in theirs["referrals"]]
    assert cases.ids["completed"] not in json.dumps(theirs)
    _, board = await cases.supervisor.get("/api/v1/referrals?status=all")
    assert cases.referral_id in [r["id"] for r in board["referrals"]]


async def test_referral_patch_only_by_the_assigned_clinician(cases: Cases) -> None:
    """PATCH of another clinician's referral is 404 and changes nothing; the filer's is 200."""
    path = f"/api/v1/referrals/{cases.referral_id}"
    status, body = await cases.stranger.call("PATCH", path, {"status": "cancelled"})
    assert status == 404 and body["error"]["code"] == "not_found", body
    status, body = await cases.assigned.call("PATCH", path, {"status": "accepted"})
    assert status == 200 and body["status"] == "accepted", body


async def test_released_request_stays_readable_by_who_had_it(cases: Cases) -> None:
    """A clinician who released a request may still read it once another accepted it; a third
    clinician may not."""
    first = await cases.running.sign_in("clinician")
    second = await cases.running.sign_in("clinician")
    rid = (await in_session(cases.officer, first))["id"]
    assert (await first.post(f"/api/v1/requests/{rid}/release", {"reason": "handover"}))[0] == 200
    status, waiting = await cases.stranger.get(f"/api/v1/requests/{rid}")
    assert status == 200 and waiting["status"] == "waiting"
    assert (await second.post(f"/api/v1/requests/{rid}/accept"))[0] == 200
    status, seen = await first.get(f"/api/v1/requests/{rid}")
    assert status == 200 and seen["clinician"]["id"] == second.user.id
    status, _ = await cases.stranger.get(f"/api/v1/requests/{rid}")
    assert status == 404


async def test_other_clinicians_changes_stay_409(cases: Cases) -> None:
    """Changes keep their contract answers for any clinician: accepting another's session is
    409 `already_assigned`, filing on it 409 `not_in_session`."""
    rid = cases.ids["in_session"]
    status, body = await cases.stranger.post(f"/api/v1/requests/{rid}/accept")
    assert status == 409 and body["error"]["code"] == "already_assigned"
    status, body = await cases.stranger.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    assert status == 409 and body["error"]["code"] == "not_in_session"


async def test_live_summary_of_a_taken_request_has_no_place(cases: Cases) -> None:
    """Other clinicians' live summary of a request leaving the queue carries no incident
    reference or place, only what the queue needs to drop it."""
    origin = str(cases.stranger.client.make_url("/")).rstrip("/")
    ws = await cases.stranger.client.ws_connect("/ws", headers={"Origin": origin})
    try:
        rid = (await in_session(cases.officer, await cases.running.sign_in("clinician")))["id"]
        summary: dict[str, Any] = {}
        while summary.get("status") != "in_session":
            message = await ws.receive_json(timeout=5)
            if message["type"] == "request.updated" and message["request"]["id"] == rid:
                summary = message["request"]
        assert summary.get("incident_ref") is None and summary.get("place") is None
    finally:
        await ws.close()
