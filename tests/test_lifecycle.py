"""The request lifecycle, sign-in and the clinical record through the real HTTP API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    PASSWORD,
    REQUEST_FORM,
    ApiClient,
    FakeClock,
    SignInFactory,
    create_account,
    in_session,
    new_request,
    on_duty,
    read_events,
    wait_until,
)
from support.forms import PLACE_OF_SAFETY, outcome_form
from triage_service.domain.codes import Role
from triage_service.settings import Settings

ROUTINE = {
    "q1": False,
    "q2": False,
    "q3": False,
    "q4": False,
    "q5": False,
    "q6_lifetime": False,
    "q6_recent": False,
}


def when(iso: str) -> datetime:
    """An API timestamp (UTC ISO-8601 with Z) as an aware datetime."""
    assert iso.endswith("Z"), iso
    return datetime.fromisoformat(iso)


async def queue_ids(client: ApiClient) -> list[str]:
    """The ids in the queue, in service order."""
    status, body = await client.get("/api/v1/queue")
    assert status == 200, body
    return [item["id"] for item in body["waiting"]]


async def availability(clinician: ApiClient) -> str:
    """The clinician's availability as GET /api/v1/availability reports it."""
    status, body = await clinician.get("/api/v1/availability")
    assert status == 200, body
    return str(body["status"])


async def created_apart(officer: ApiClient, n: int, **changes: Any) -> list[dict[str, Any]]:
    """`n` requests created a few milliseconds apart, so their arrival order is defined."""
    made = []
    for _ in range(n):
        made.append(await new_request(officer, **changes))
        await asyncio.sleep(0.005)
    return made


# ---- create, list, get, cancel --------------------------------------------------------------


async def test_create_answers_201_with_the_waiting_request(sign_in: SignInFactory) -> None:
    """A new request is 201 `waiting` with the officer, the form and a live queue position."""
    officer = await sign_in("officer", display_name="PC Morag Reid")
    before = datetime.now(UTC) - timedelta(seconds=1)
    status, body = await officer.post("/api/v1/requests", REQUEST_FORM)
    assert status == 201, body
    assert body["status"] == "waiting" and body["priority"] == 2
    assert body["urgency"] == "urgent" and body["mode"] == "video"
    assert body["officer"] == {"id": officer.user.id, "display_name": "PC Morag Reid"}
    assert body["clinician"] is None and body["accepted_at"] is None
    assert body["completed_at"] is None
    assert before <= when(body["created_at"]) <= datetime.now(UTC)
    assert body["incident_ref"] == REQUEST_FORM["incident_ref"]
    assert body["location"] == {**REQUEST_FORM["location"], "area_id": "default"}
    assert body["board"] == "default"
    assert body["subject"] == {**REQUEST_FORM["subject"], "chi": None, "date_of_birth": None}
    assert body["concerns"] == REQUEST_FORM["concerns"]
    assert body["screening"] == REQUEST_FORM["screening"]
    assert body["notes"] == REQUEST_FORM["notes"]
    # Nobody is on duty: no invented estimate, the phone line at once.
    assert body["position"] == 1 and body["estimated_wait_s"] is None
    assert body["clinicians_on_duty"] == 0
    assert body["fallback"]["reason"] == "no_clinician_on_duty"
    assert body["consent"] == "given"  # sent as true, shown as given


async def test_idempotency_key_returns_the_same_request(sign_in: SignInFactory) -> None:
    """Same key and officer give the same request (200); another officer's key is separate."""
    officer, other = await sign_in("officer"), await sign_in("officer")
    clinician = await sign_in("clinician")
    key = {"Idempotency-Key": "tap-1234"}
    status, first = await officer.post("/api/v1/requests", REQUEST_FORM, headers=key)
    assert status == 201, first
    status, again = await officer.post("/api/v1/requests", REQUEST_FORM, headers=key)
    assert status == 200, again
    assert again["id"] == first["id"] and again["status"] == "waiting"
    status, theirs = await other.post("/api/v1/requests", REQUEST_FORM, headers=key)
    assert status == 201, theirs
    assert theirs["id"] != first["id"]
    assert theirs["officer"]["id"] == other.user.id
    status, fresh = await officer.post(
        "/api/v1/requests", REQUEST_FORM, headers={"Idempotency-Key": "tap-5678"}
    )
    assert status == 201 and fresh["id"] not in (first["id"], theirs["id"])
    assert sorted(await queue_ids(clinician)) == sorted([first["id"], theirs["id"], fresh["id"]])
    _, mine = await officer.get("/api/v1/requests?scope=mine")
    assert len(mine["requests"]) == 2


async def test_idempotent_retry_after_accept_returns_current_state(sign_in: SignInFactory) -> None:
    """A retry with the same key after acceptance returns the request as it is now, not a copy."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    key = {"Idempotency-Key": "retry-after-accept"}
    _, first = await officer.post("/api/v1/requests", REQUEST_FORM, headers=key)
    await clinician.post(f"/api/v1/requests/{first['id']}/accept")
    status, again = await officer.post("/api/v1/requests", REQUEST_FORM, headers=key)
    assert status == 200 and again["id"] == first["id"] and again["status"] == "in_session"
    assert await queue_ids(clinician) == []


async def test_list_mine_is_newest_first_and_only_mine(sign_in: SignInFactory) -> None:
    """`scope=mine` lists the officer's own requests, newest first."""
    officer, other = await sign_in("officer"), await sign_in("officer")
    made = await created_apart(officer, 3)
    await new_request(other)
    for path in ("/api/v1/requests?scope=mine", "/api/v1/requests"):
        status, body = await officer.get(path)
        assert status == 200, body
        assert [r["id"] for r in body["requests"]] == [r["id"] for r in reversed(made)]
        assert [r["position"] for r in body["requests"]] == [3, 2, 1]
    status, body = await officer.get("/api/v1/requests?scope=everyone")
    assert status == 422 and "scope" in body["error"]["fields"]


async def test_list_mine_reads_only_what_the_page_shows(sign_in: SignInFactory) -> None:
    """`limit=1` answers the newest request only; `status=open` only the waiting and in-session
    ones (an older open one behind newer closed ones included); a limit outside 1..100 is
    422 naming it."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    older, newer = await created_apart(officer, 2)
    await officer.post(f"/api/v1/requests/{newer['id']}/cancel")
    status, body = await officer.get("/api/v1/requests?scope=mine&limit=1")
    assert status == 200 and [r["id"] for r in body["requests"]] == [newer["id"]]
    status, body = await officer.get("/api/v1/requests?scope=mine&status=open&limit=1")
    assert [r["id"] for r in body["requests"]] == [older["id"]]
    await clinician.post(f"/api/v1/requests/{older['id']}/accept")
    _, body = await officer.get("/api/v1/requests?scope=mine&status=open")
    assert [(r["id"], r["status"]) for r in body["requests"]] == [(older["id"], "in_session")]
    for wrong in ("0", "101", "many"):
        status, body = await officer.get(f"/api/v1/requests?scope=mine&limit={wrong}")
        assert status == 422 and "limit" in body["error"]["fields"], wrong


async def test_get_returns_the_request(sign_in: SignInFactory) -> None:
    """The owner reads the request back with the same content; an unknown id is 404."""
    officer = await sign_in("officer")
    created = await new_request(officer)
    status, body = await officer.get(f"/api/v1/requests/{created['id']}")
    assert status == 200, body
    assert body == created
    status, body = await officer.get("/api/v1/requests/0000000000000000")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_cancel_then_cancel_again_is_409(sign_in: SignInFactory) -> None:
    """Cancelling a waiting request answers 200 `cancelled`; again is 409 `not_waiting`."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    created = await new_request(officer)
    status, body = await officer.post(f"/api/v1/requests/{created['id']}/cancel")
    assert status == 200, body
    assert body["status"] == "cancelled" and body["position"] is None
    assert body["estimated_wait_s"] is None and body["completed_at"] is not None
    assert await queue_ids(clinician) == []
    status, body = await officer.post(f"/api/v1/requests/{created['id']}/cancel")
    assert status == 409 and body["error"]["code"] == "not_waiting"
    assert "cancelled" in body["error"]["message"]


async def test_cancel_in_session_is_409(sign_in: SignInFactory) -> None:
    """An officer cannot cancel once a clinician has accepted."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    status, body = await officer.post(f"/api/v1/requests/{request['id']}/cancel")
    assert status == 409 and body["error"]["code"] == "not_waiting"


# ---- accept, next, release ------------------------------------------------------------------


async def test_accept_then_second_clinician_gets_409(sign_in: SignInFactory) -> None:
    """Accepting answers 200 `in_session` with the clinician; a second clinician gets 409."""
    officer = await sign_in("officer")
    first = await sign_in("clinician", display_name="Nurse Ali Khan")
    second = await sign_in("clinician")
    created = await new_request(officer)
    status, body = await first.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 200, body
    assert body["status"] == "in_session"
    assert body["clinician"] == {"id": first.user.id, "display_name": "Nurse Ali Khan"}
    assert body["position"] is None and body["estimated_wait_s"] is None
    assert when(body["accepted_at"]) >= when(body["created_at"])
    assert body["notes"] == REQUEST_FORM["notes"]
    status, body = await second.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 409 and body["error"]["code"] == "already_assigned"
    status, body = await first.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 409 and body["error"]["code"] == "already_assigned"
    _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
    assert seen["clinician"]["id"] == first.user.id and seen["status"] == "in_session"


async def test_accept_cancelled_is_409_not_waiting(sign_in: SignInFactory) -> None:
    """A cancelled request cannot be accepted."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    created = await new_request(officer)
    await officer.post(f"/api/v1/requests/{created['id']}/cancel")
    status, body = await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 409 and body["error"]["code"] == "not_waiting"
    status, body = await clinician.post("/api/v1/requests/ffffffffffffffff/accept")
    assert status == 404


async def test_queue_next_takes_first_in_service_order(sign_in: SignInFactory) -> None:
    """`queue/next` accepts the most urgent, oldest request; an empty queue is 404."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    colleague, third = await sign_in("clinician"), await sign_in("clinician")
    status, body = await clinician.post("/api/v1/queue/next")
    assert status == 404 and body["error"]["code"] == "queue_empty"
    routine = await new_request(officer, urgency="routine", screening={})
    await asyncio.sleep(0.005)
    immediate = await new_request(officer, urgency="immediate", screening={})
    status, body = await clinician.post("/api/v1/queue/next")
    assert status == 200, body
    assert body["id"] == immediate["id"] and body["status"] == "in_session"
    assert body["clinician"]["id"] == clinician.user.id
    status, body = await colleague.post("/api/v1/queue/next")
    assert status == 200 and body["id"] == routine["id"]
    status, body = await third.post("/api/v1/queue/next")
    assert status == 404 and body["error"]["code"] == "queue_empty"


async def test_release_returns_to_original_place(sign_in: SignInFactory) -> None:
    """A released request waits again ahead of one that arrived after it."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    a, b = await created_apart(officer, 2)
    assert await queue_ids(clinician) == [a["id"], b["id"]]
    await clinician.post(f"/api/v1/requests/{a['id']}/accept")
    assert await queue_ids(clinician) == [b["id"]]
    status, body = await clinician.post(
        f"/api/v1/requests/{a['id']}/release", {"reason": "Handing to a CAMHS colleague"}
    )
    assert status == 200, body
    assert body["status"] == "waiting" and body["clinician"] is None
    assert body["accepted_at"] is None
    assert body["position"] == 1 and body["created_at"] == a["created_at"]
    assert await queue_ids(clinician) == [a["id"], b["id"]]
    _, b_now = await officer.get(f"/api/v1/requests/{b['id']}")
    assert b_now["position"] == 2
    status, body = await clinician.post("/api/v1/queue/next")
    assert body["id"] == a["id"]


async def test_release_by_someone_else_is_409(sign_in: SignInFactory) -> None:
    """Only the assigned clinician may release; a waiting request cannot be released."""
    officer = await sign_in("officer")
    assigned, other = await sign_in("clinician"), await sign_in("clinician")
    request = await in_session(officer, assigned)
    status, body = await other.post(f"/api/v1/requests/{request['id']}/release", {"reason": ""})
    assert status == 409 and body["error"]["code"] == "not_in_session"
    await assigned.post(f"/api/v1/requests/{request['id']}/release", {})
    status, body = await assigned.post(f"/api/v1/requests/{request['id']}/release", {})
    assert status == 409 and body["error"]["code"] == "not_in_session"


# ---- messages -------------------------------------------------------------------------------


async def test_messages_oldest_first_and_closed_after_completion(sign_in: SignInFactory) -> None:
    """Both parties post (201) and read the chat oldest first; it is closed once completed."""
    officer = await sign_in("officer", display_name="PC Reid")
    clinician = await sign_in("clinician", display_name="Nurse Khan")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/messages"
    texts = [
        (officer, "She is calmer now"),
        (clinician, "Can you put me on speaker?"),
        (officer, "Done"),
    ]
    for author, text in texts:
        status, body = await author.post(path, {"text": text})
        assert status == 201, body
        assert body["text"] == text and body["request_id"] == request["id"]
        assert body["author"] == {
            "id": author.user.id,
            "display_name": author.user.display_name,
            "role": author.user.role.value,
        }
    for reader in (officer, clinician):
        status, body = await reader.get(path)
        assert status == 200, body
        assert [m["text"] for m in body["messages"]] == [t for _, t in texts]
        stamps = [when(m["created_at"]) for m in body["messages"]]
        assert stamps == sorted(stamps)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    status, body = await officer.post(path, {"text": "Thanks"})
    assert status == 409 and body["error"]["code"] == "request_closed"
    status, body = await clinician.post(path, {"text": "Bye"})
    assert status == 409
    status, body = await officer.get(path)
    assert status == 200 and len(body["messages"]) == 3


async def test_officer_can_message_while_waiting(sign_in: SignInFactory) -> None:
    """The chat is open while the request waits, so the officer can add details."""
    officer = await sign_in("officer")
    created = await new_request(officer)
    status, body = await officer.post(
        f"/api/v1/requests/{created['id']}/messages", {"text": "Now at the bus shelter"}
    )
    assert status == 201, body
    await officer.post(f"/api/v1/requests/{created['id']}/cancel")
    status, body = await officer.post(
        f"/api/v1/requests/{created['id']}/messages", {"text": "never mind"}
    )
    assert status == 409


# ---- outcome and referrals ------------------------------------------------------------------


async def test_outcome_201_once_with_referral(sign_in: SignInFactory) -> None:
    """Filing the outcome answers 201 `completed` with the referral; a second time is 409."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/outcome"
    status, body = await clinician.post(path, OUTCOME_FORM)
    assert status == 201, body
    assert body["request"]["status"] == "completed"
    assert body["request"]["completed_at"] is not None
    assert body["outcome"]["triage_code"] == "C"
    assert body["outcome"]["disposition"] == "urgent_face_to_face"
    referral = body["referral"]
    assert referral["service"] == "crisis_team" and referral["urgency"] == "C"
    assert referral["status"] == "pending" and referral["overdue"] is False
    assert referral["request_id"] == request["id"]
    assert when(referral["due_at"]) - when(referral["created_at"]) == timedelta(hours=24)
    status, again = await clinician.post(path, OUTCOME_FORM)
    assert status == 409 and again["error"]["code"] == "not_in_session"
    _, referrals = await clinician.get("/api/v1/referrals?status=all")
    assert [r["id"] for r in referrals["referrals"]] == [referral["id"]]


async def test_officer_sees_advice_not_clinical_summary(sign_in: SignInFactory) -> None:
    """After the outcome the officer reads the advice and codes but not the clinical note."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    _, seen = await officer.get(f"/api/v1/requests/{request['id']}")
    assert seen["status"] == "completed"
    assert seen["outcome"]["advice_to_officer"] == OUTCOME_FORM["advice_to_officer"]
    assert seen["outcome"]["summary"] == ""
    _, full = await clinician.get(f"/api/v1/requests/{request['id']}")
    assert full["outcome"]["summary"] == OUTCOME_FORM["summary"]


@pytest.mark.parametrize(
    ("code", "disposition", "service", "hours"),
    [
        ("B", "urgent_face_to_face", "cmht", 4),
        ("C", "urgent_face_to_face", "cmht", 24),
        ("D", "non_urgent_referral", "cmht", 72),
        ("E", "non_urgent_referral", "cmht", 672),
        ("D", "dbi_referral", "dbi", 24),
        ("E", "dbi_referral", "dbi", 24),
        ("A", "emergency_department", "liaison_psychiatry", 0),
    ],
)
async def test_referral_due_defaults_from_urgency(
    sign_in: SignInFactory, code: str, disposition: str, service: str, hours: int
) -> None:
    """Without `due_at` a referral is due after its urgency's target (DBI: 24 h)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    form = outcome_form(
        triage_code=code, disposition=disposition, referral={"service": service, "urgency": code}
    )
    if disposition == "emergency_department":
        form["conveyance"] = "ambulance"
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", form)
    assert status == 201, body
    referral = body["referral"]
    assert when(referral["due_at"]) - when(referral["created_at"]) == timedelta(hours=hours)
    assert referral["created_at"] == body["request"]["completed_at"]


@pytest.mark.settings(response_targets_h="B:1,C:6,D:30,E:100")
async def test_referral_due_uses_configured_targets(sign_in: SignInFactory) -> None:
    """The response targets come from the settings: code C with C:6 is due in 6 hours."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert status == 201, body
    referral = body["referral"]
    assert when(referral["due_at"]) - when(referral["created_at"]) == timedelta(hours=6)


async def test_explicit_referral_due_time_is_kept(sign_in: SignInFactory) -> None:
    """A clinician's own `due_at` (sooner than its urgency's target) overrides the default."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    form = outcome_form(
        referral={
            "service": "gp",
            "urgency": "C",
            "due_at": due.isoformat().replace("+00:00", "Z"),
            "contact": "Dr Bell",
        }
    )
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", form)
    assert status == 201, body
    assert when(body["referral"]["due_at"]) == due
    assert body["referral"]["contact"] == "Dr Bell"


async def test_s297_needs_place_of_safety_and_opens_mwc_notice(sign_in: SignInFactory) -> None:
    """s297 without details is 422; with them it opens a notice due 14 days after removal."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/outcome"
    bare = outcome_form(triage_code="B", disposition="place_of_safety_s297", referral=None)
    status, body = await clinician.post(path, bare)
    assert status == 422 and body["error"]["code"] == "place_of_safety_required"
    assert "place_of_safety" in body["error"]["fields"]
    station = {**PLACE_OF_SAFETY, "is_police_station": True}
    status, body = await clinician.post(path, {**bare, "place_of_safety": station})
    assert status == 422 and body["error"]["code"] == "police_station_reason_required"
    assert "place_of_safety.police_station_reason" in body["error"]["fields"]
    _, still = await clinician.get(f"/api/v1/requests/{request['id']}")
    assert still["status"] == "in_session"
    status, body = await clinician.post(path, {**bare, "place_of_safety": PLACE_OF_SAFETY})
    assert status == 201, body
    assert body["referral"] is None
    _, listed = await clinician.get("/api/v1/referrals?status=open")
    [notice] = listed["referrals"]
    assert notice["kind"] == "mwc_notification" and notice["request_id"] == request["id"]
    assert when(notice["due_at"]) == when(PLACE_OF_SAFETY["removed_at"]) + timedelta(days=14)
    assert notice["status"] == "pending"


async def test_s297_police_station_with_reason_is_accepted(sign_in: SignInFactory) -> None:
    """A police station used as place of safety is accepted when the reason is given."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    station = {
        **PLACE_OF_SAFETY,
        "is_police_station": True,
        "police_station_reason": "No hospital place available; person violent",
    }
    form = outcome_form(
        triage_code="B",
        disposition="place_of_safety_s297",
        referral={"service": "liaison_psychiatry", "urgency": "B"},
        place_of_safety=station,
    )
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", form)
    assert status == 201, body
    assert body["referral"]["service"] == "liaison_psychiatry"
    _, listed = await clinician.get("/api/v1/referrals?status=all")
    assert sorted(r["kind"] for r in listed["referrals"]) == ["mwc_notification", "referral"]


async def test_referral_required_for_referral_dispositions(sign_in: SignInFactory) -> None:
    """A referral disposition without a referral is 422 and leaves the session open."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    status, body = await clinician.post(
        f"/api/v1/requests/{request['id']}/outcome",
        outcome_form(disposition="dbi_referral", referral=None),
    )
    assert status == 422 and body["error"]["code"] == "referral_required"
    assert "referral" in body["error"]["fields"]
    assert await availability(clinician) == "busy"


async def file_with_due(officer: ApiClient, clinician: ApiClient, due: datetime | None) -> str:
    """Complete a new session with a referral due at `due`; return the referral id.

    Without `due`, an emergency (code A, urgency A) referral due at once: overdue from then.
    """
    request = await in_session(officer, clinician)
    if due is None:
        referral = {"service": "liaison_psychiatry", "urgency": "A"}
        form = outcome_form(
            triage_code="A",
            disposition="emergency_department",
            referral=referral,
            conveyance="ambulance",
        )
    else:
        referral = {"service": "gp", "urgency": "D", "due_at": due.isoformat()}
        form = outcome_form(triage_code="D", disposition="non_urgent_referral", referral=referral)
    status, body = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", form)
    assert status == 201, body
    return str(body["referral"]["id"])


async def test_referral_lists_and_status_updates(sign_in: SignInFactory) -> None:
    """Open, overdue and all lists; PATCH moves a referral on; closed is 409, unknown 404."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    now = datetime.now(UTC)
    late = await file_with_due(officer, clinician, None)
    soon = await file_with_due(officer, clinician, now + timedelta(hours=2))

    async def listed(scope: str) -> list[str]:
        status, body = await clinician.get(f"/api/v1/referrals?status={scope}")
        assert status == 200, body
        return [r["id"] for r in body["referrals"]]

    assert await listed("open") == [late, soon]
    assert await listed("overdue") == [late]
    assert sorted(await listed("all")) == sorted([late, soon])
    _, body = await clinician.get("/api/v1/referrals")
    assert [r["id"] for r in body["referrals"]] == [late, soon]
    assert [r["overdue"] for r in body["referrals"]] == [True, False]

    status, body = await clinician.call(
        "PATCH", f"/api/v1/referrals/{late}", {"status": "accepted", "note": "GP phoned"}
    )
    assert status == 200, body
    assert body["status"] == "accepted" and body["note"] == "GP phoned"
    assert body["overdue"] is True
    status, body = await clinician.call(
        "PATCH", f"/api/v1/referrals/{late}", {"status": "completed"}
    )
    assert status == 200 and body["status"] == "completed" and body["overdue"] is False
    assert when(body["updated_at"]) >= when(body["created_at"])
    assert await listed("open") == [soon]
    assert await listed("overdue") == []
    assert sorted(await listed("all")) == sorted([late, soon])
    status, body = await clinician.call(
        "PATCH", f"/api/v1/referrals/{late}", {"status": "cancelled"}
    )
    assert status == 409 and body["error"]["code"] == "referral_closed"
    status, body = await clinician.call(
        "PATCH", "/api/v1/referrals/0123456789abcdef", {"status": "accepted"}
    )
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await clinician.call(
        "PATCH", f"/api/v1/referrals/{soon}", {"status": "did_not_attend"}
    )
    assert status == 200 and body["status"] == "did_not_attend"
    assert await listed("open") == []
    status, body = await clinician.get("/api/v1/referrals?status=late")
    assert status == 422 and "status" in body["error"]["fields"]


# ---- availability ---------------------------------------------------------------------------


async def test_availability_follows_sessions(sign_in: SignInFactory) -> None:
    """Accepting makes a clinician busy; the outcome or a release makes them available."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    assert await availability(clinician) == "offline"
    status, body = await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200 and body == {"status": "available"}
    assert await availability(clinician) == "available"
    request = await in_session(officer, clinician)
    assert await availability(clinician) == "busy"
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert await availability(clinician) == "available"
    second = await in_session(officer, clinician)
    assert await availability(clinician) == "busy"
    await clinician.post(f"/api/v1/requests/{second['id']}/release", {"reason": "break"})
    assert await availability(clinician) == "available"
    await clinician.post("/api/v1/queue/next")
    assert await availability(clinician) == "busy"
    status, body = await clinician.call("PUT", "/api/v1/availability", {"status": "offline"})
    assert status == 200 and await availability(clinician) == "offline"


async def test_offline_clinician_stays_offline_after_outcome(sign_in: SignInFactory) -> None:
    """A clinician who went offline mid-session is not switched back to available."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.call("PUT", "/api/v1/availability", {"status": "offline"})
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert await availability(clinician) == "offline"


async def test_finishing_returns_to_the_availability_chosen_before_accepting(
    sign_in: SignInFactory,
) -> None:
    """A clinician who was offline when they accepted is offline again after filing or release."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    await clinician.call("PUT", "/api/v1/availability", {"status": "offline"})
    request = await in_session(officer, clinician)
    assert await availability(clinician) == "busy"
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert await availability(clinician) == "offline"
    second = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{second['id']}/release", {"reason": "break"})
    assert await availability(clinician) == "offline"
    await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    third = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{third['id']}/outcome", OUTCOME_FORM)
    assert await availability(clinician) == "available"


# ---- priority, order, position --------------------------------------------------------------


@pytest.mark.parametrize("question", ["q4", "q5", "q6_recent"])
async def test_imminent_cssrs_forces_priority_one(sign_in: SignInFactory, question: str) -> None:
    """A routine request with a yes to q4, q5 or recent q6 is queued at priority 1."""
    officer = await sign_in("officer")
    created = await new_request(
        officer, urgency="routine", screening={"cssrs": {**ROUTINE, question: True}}
    )
    assert created["priority"] == 1 and created["urgency"] == "routine"


async def test_queue_service_order_is_priority_then_arrival(sign_in: SignInFactory) -> None:
    """The queue lists priority 1 first, and within a priority the earliest arrival first."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    plain = {"screening": {"cssrs": ROUTINE}}
    routine_1 = await new_request(officer, urgency="routine", **plain)
    await asyncio.sleep(0.005)
    urgent = await new_request(officer, urgency="urgent", **plain)
    await asyncio.sleep(0.005)
    routine_2 = await new_request(officer, urgency="routine", **plain)
    await asyncio.sleep(0.005)
    imminent = await new_request(
        officer, urgency="routine", screening={"cssrs": {**ROUTINE, "q5": True}}
    )
    await asyncio.sleep(0.005)
    immediate = await new_request(officer, urgency="immediate", **plain)
    expected = [imminent, immediate, urgent, routine_1, routine_2]
    status, body = await clinician.get("/api/v1/queue")
    assert status == 200
    assert [item["id"] for item in body["waiting"]] == [r["id"] for r in expected]
    assert [item["priority"] for item in body["waiting"]] == [1, 1, 2, 3, 3]
    item = body["waiting"][0]
    assert set(item) == {
        "id",
        "priority",
        "urgency",
        "created_at",
        "waited_s",
        "area",
        "area_id",
        "board",
        "concerns",
        "mode",
        "age_band",
        "risk_flag",
        "incident_ref",
        "place",
    }
    assert item["area"] == "Glasgow City Centre" and item["age_band"] == "26_40"
    assert item["risk_flag"] == "imminent" and body["waiting"][1]["risk_flag"] is None
    assert item["incident_ref"] == REQUEST_FORM["incident_ref"]
    assert item["place"] == REQUEST_FORM["location"]["description"]
    assert item["waited_s"] >= 0
    async with on_duty(clinician):
        for position, request in enumerate(expected, 1):
            _, seen = await officer.get(f"/api/v1/requests/{request['id']}")
            assert seen["position"] == position
            assert isinstance(seen["estimated_wait_s"], float) and seen["estimated_wait_s"] > 0


async def test_position_and_wait_only_while_waiting(sign_in: SignInFactory) -> None:
    """Position and estimated wait are present while waiting and gone once accepted."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    async with on_duty(clinician):
        first, second = await created_apart(officer, 2)
        assert (first["position"], second["position"]) == (1, 2)
        assert second["estimated_wait_s"] >= first["estimated_wait_s"] > 0
        await clinician.post(f"/api/v1/requests/{first['id']}/accept")
        _, first_now = await officer.get(f"/api/v1/requests/{first['id']}")
        _, second_now = await officer.get(f"/api/v1/requests/{second['id']}")
        assert first_now["position"] is None and first_now["estimated_wait_s"] is None
        assert second_now["position"] == 1 and second_now["estimated_wait_s"] > 0


# ---- expiry ---------------------------------------------------------------------------------


@pytest.mark.fake_clock
@pytest.mark.settings(max_wait_s=600, sweep_interval_s=0.05, phone_fallback="0300 303 0000")
async def test_unanswered_request_expires_with_phone_fallback(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str, clock: FakeClock
) -> None:
    """A request nobody answers within max_wait_s expires and the officer sees the phone number."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    created = await new_request(officer)
    assert created["phone_fallback"] is None
    clock.advance(600)

    async def expired() -> bool:
        _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
        return bool(seen["status"] != "waiting")

    await wait_until(expired, timeout=5)
    _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
    assert seen["status"] == "expired"
    assert seen["phone_fallback"] == "0300 303 0000"
    assert seen["position"] is None and seen["completed_at"] is not None
    assert await queue_ids(clinician) == []
    status, body = await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    assert status == 409 and body["error"]["code"] == "not_waiting"
    status, body = await officer.post(f"/api/v1/requests/{created['id']}/cancel")
    assert status == 409
    expired_events = [
        e for e in await read_events(redis_client, key_prefix) if e["type"] == "expired"
    ]
    assert len(expired_events) == 1 and expired_events[0]["request_id"] == created["id"]
    assert expired_events[0]["actor"] == "system" and expired_events[0]["role"] == "system"


@pytest.mark.fake_clock
@pytest.mark.settings(max_wait_s=600, sweep_interval_s=0.05)
async def test_accepted_request_does_not_expire(sign_in: SignInFactory, clock: FakeClock) -> None:
    """Accepting in time stops the expiry timer."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    clock.advance(1200)
    await asyncio.sleep(0.2)  # sweeps at the moved time
    _, seen = await officer.get(f"/api/v1/requests/{request['id']}")
    assert seen["status"] == "in_session" and seen["phone_fallback"] is None


# ---- sign-in, sessions, CSRF ----------------------------------------------------------------


async def test_login_me_logout(server: TestServer, anonymous: ApiClient) -> None:
    """Sign-in returns the user and CSRF token; /me agrees; sign-out kills the old cookie."""
    user = await create_account(
        server.app, Role.CLINICIAN, username="Nurse.Khan", display_name="Nurse Khan"
    )
    async with anonymous.client.post(
        "/api/v1/login", json={"username": "nurse.khan", "password": PASSWORD}
    ) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
        cookie = r.cookies["triage_session"]
        set_cookie = r.headers["Set-Cookie"]
    assert body["user"] == {
        "id": user.id,
        "username": "Nurse.Khan",
        "display_name": "Nurse Khan",
        "role": "clinician",
    }
    csrf = body["csrf_token"]
    assert len(csrf) >= 16
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    token = cookie.value
    assert len(token) >= 22
    status, me = await anonymous.get("/api/v1/me")
    assert status == 200 and me == body
    status, _ = await anonymous.call("POST", "/api/v1/logout", headers={"X-CSRF-Token": csrf})
    assert status == 204
    async with (
        aiohttp.ClientSession() as stranger,
        stranger.get(
            server.make_url("/api/v1/me"), headers={"Cookie": f"triage_session={token}"}
        ) as r,
    ):
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "not_signed_in"
    status, _ = await anonymous.get("/api/v1/me")
    assert status == 401


async def test_each_sign_in_gets_a_new_session(server: TestServer, anonymous: ApiClient) -> None:
    """Signing in twice gives two different tokens; signing out one leaves the other alive."""
    user = await create_account(server.app, Role.OFFICER)
    tokens = []
    for _ in range(2):
        status, body = await anonymous.post(
            "/api/v1/login", {"username": user.username, "password": PASSWORD}
        )
        assert status == 200
        jar = anonymous.client.session.cookie_jar
        tokens.append(
            (
                jar.filter_cookies(anonymous.client.make_url("/"))["triage_session"].value,
                body["csrf_token"],
            )
        )
    assert tokens[0][0] != tokens[1][0] and tokens[0][1] != tokens[1][1]
    async with (
        aiohttp.ClientSession() as first,
        first.get(
            server.make_url("/api/v1/me"), headers={"Cookie": f"triage_session={tokens[0][0]}"}
        ) as r,
    ):
        assert r.status == 200


async def test_wrong_password_is_401(server: TestServer, anonymous: ApiClient) -> None:
    """A wrong password or unknown user is 401 `invalid_credentials`, with no cookie set."""
    user = await create_account(server.app, Role.OFFICER)
    for username, password in ((user.username, "wrong password"), ("nobody-here", PASSWORD)):
        status, body = await anonymous.post(
            "/api/v1/login", {"username": username, "password": password}
        )
        assert status == 401 and body["error"]["code"] == "invalid_credentials"
    assert len(anonymous.client.session.cookie_jar) == 0


async def test_post_without_csrf_is_403(sign_in: SignInFactory) -> None:
    """A signed-in POST without (or with a wrong) X-CSRF-Token is 403 `csrf`; GET needs none."""
    officer = await sign_in("officer")
    async with officer.client.post("/api/v1/requests", json=REQUEST_FORM) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "csrf"
    async with officer.client.post(
        "/api/v1/requests", json=REQUEST_FORM, headers={"X-CSRF-Token": "not-the-token"}
    ) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "csrf"
    async with officer.client.post("/api/v1/logout") as r:
        assert r.status == 403
    async with officer.client.get("/api/v1/requests") as r:
        assert r.status == 200
        assert (await r.json())["requests"] == []


async def test_csrf_is_checked_after_sign_in(anonymous: ApiClient) -> None:
    """Not signed in comes first: a POST without cookie or CSRF token is 401, not 403."""
    async with anonymous.client.post("/api/v1/requests", json=REQUEST_FORM) as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "not_signed_in"


@pytest.mark.settings(login_max_failures=3)
async def test_sign_in_rate_limited_after_failures(
    server: TestServer, anonymous: ApiClient
) -> None:
    """After login_max_failures failures sign-in is 429 with Retry-After, even if correct."""
    user = await create_account(server.app, Role.OFFICER)
    for _ in range(3):
        status, _ = await anonymous.post(
            "/api/v1/login", {"username": user.username, "password": "guess"}
        )
        assert status == 401
    for password in ("guess", PASSWORD):
        async with anonymous.client.post(
            "/api/v1/login", json={"username": user.username, "password": password}
        ) as r:
            assert r.status == 429
            assert (await r.json())["error"]["code"] == "rate_limited"
            retry = int(r.headers["Retry-After"])
            assert 0 < retry <= Settings().login_window_s
    other = await create_account(server.app, Role.OFFICER)
    status, _ = await anonymous.post(
        "/api/v1/login", {"username": other.username, "password": PASSWORD}
    )
    assert status == 200


@pytest.mark.settings(session_idle_s=1)
async def test_idle_session_times_out(sign_in: SignInFactory) -> None:
    """Activity keeps a session alive; after session_idle_s without any, it is 401."""
    officer = await sign_in("officer")
    for _ in range(2):
        await asyncio.sleep(0.6)
        status, _ = await officer.get("/api/v1/me")
        assert status == 200
    await asyncio.sleep(1.5)
    status, body = await officer.get("/api/v1/me")
    assert status == 401 and body["error"]["code"] == "not_signed_in"


@pytest.mark.settings(session_absolute_s=1)
async def test_session_absolute_lifetime(sign_in: SignInFactory) -> None:
    """A session ends after session_absolute_s even while it is in use."""
    officer = await sign_in("officer")
    status, _ = await officer.get("/api/v1/me")
    assert status == 200
    await asyncio.sleep(1.1)
    status, _ = await officer.get("/api/v1/me")
    assert status == 401


async def test_session_of_an_earlier_version_means_signing_in_again(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A session stored as a hash (before sessions became one JSON string) answers 401 and
    is removed, rather than failing every request until it expires."""
    officer = await sign_in("officer")
    [key] = await redis_client.keys(f"{key_prefix}sess:*")
    await redis_client.delete(key)
    await redis_client.hset(key, mapping={"id": officer.user.id, "created_ms": 0})
    status, body = await officer.get("/api/v1/me")
    assert status == 401 and body["error"]["code"] == "not_signed_in"
    assert not await redis_client.exists(key)


# ---- system routes and headers --------------------------------------------------------------


async def test_healthz_ok(anonymous: ApiClient) -> None:
    """/healthz answers 200 with Redis ok, without signing in."""
    status, body = await anonymous.get("/healthz")
    assert status == 200 and body == {"status": "ok", "redis": "ok"}


async def test_openapi_document(anonymous: ApiClient) -> None:
    """/api/v1/openapi.json is OpenAPI 3.1 listing the REST paths."""
    status, body = await anonymous.get("/api/v1/openapi.json")
    assert status == 200
    assert body["openapi"].startswith("3.1")
    for path in (
        "/api/v1/requests",
        "/api/v1/requests/{id}",
        "/api/v1/requests/{id}/accept",
        "/api/v1/queue",
        "/api/v1/queue/next",
        "/api/v1/login",
        "/api/v1/referrals",
    ):
        assert path in body["paths"], path
    create = body["paths"]["/api/v1/requests"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "RequestForm"
    )
    assert "201" in create["responses"] and "422" in create["responses"]
    assert "RequestForm" in body["components"]["schemas"]


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/api/v1/openapi.json", "/api/v1/me", "/api/v1/no-such-route", "/api/v1/requests"],
)
async def test_security_headers_on_every_response(anonymous: ApiClient, path: str) -> None:
    """Answers, errors and unknown routes all carry CSP, nosniff and no-referrer."""
    async with anonymous.client.get(path) as r:
        assert r.status in (200, 401, 404)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "camera=(self)" in r.headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in r.headers


# ---- the events stream ----------------------------------------------------------------------


async def test_every_transition_appends_an_event(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Create, accept, release, message, outcome, referral and cancel each append an event."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    start_ms = int(time.time() * 1000) - 1000
    await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    request = await in_session(officer, clinician)
    rid = request["id"]
    await clinician.post(f"/api/v1/requests/{rid}/release", {"reason": "wrong area"})
    await clinician.post("/api/v1/queue/next")
    await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "hello"})
    _, done = await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    await clinician.call(
        "PATCH", f"/api/v1/referrals/{done['referral']['id']}", {"status": "completed"}
    )
    other = await new_request(officer)
    await officer.post(f"/api/v1/requests/{other['id']}/cancel")
    end_ms = int(time.time() * 1000) + 1000

    # The sweeper may raise an alarm meanwhile (nobody is on duty): not a transition.
    events = [
        e for e in await read_events(redis_client, key_prefix) if not e["type"].startswith("alarm")
    ]
    expected = [
        ("availability", clinician, ""),
        ("created", officer, rid),
        ("accepted", clinician, rid),
        ("released", clinician, rid),
        ("accepted", clinician, rid),
        ("message", officer, rid),
        ("referral_opened", clinician, rid),
        ("completed", clinician, rid),
        ("referral_completed", clinician, rid),
        ("created", officer, other["id"]),
        ("cancelled", officer, other["id"]),
    ]
    assert [e["type"] for e in events] == [kind for kind, _, _ in expected]
    for event, (_, actor, request_id) in zip(events, expected, strict=True):
        assert event["actor"] == actor.user.id, event
        assert event["role"] == actor.user.role.value, event
        assert event["request_id"] == request_id, event
        assert start_ms <= int(event["at"]) <= end_ms, event
    by_type = {e["type"]: e for e in events}
    assert by_type["completed"]["disposition"] == "urgent_face_to_face"
    assert by_type["completed"]["triage_code"] == "C"
    assert by_type["released"]["reason"] == "wrong area"
    assert by_type["referral_opened"]["referral_id"] == done["referral"]["id"]
    assert by_type["created"]["priority"] == "2"
