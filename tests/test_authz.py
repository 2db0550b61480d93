"""Authorization: every route by every role, other people's objects, and de-identification."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from conftest import (
    OUTCOME_FORM,
    REQUEST_FORM,
    ApiClient,
    Deployment,
    deployment,
    hand_back,
    in_session,
    new_request,
)
from support.forms import PLACE_OF_SAFETY, outcome_form

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROLES = ("officer", "clinician", "supervisor", "admin", "receiver", "anonymous")
TEAM = "crisis_team:default"  # where OUTCOME_FORM's referral goes without an area directory
NOBODY = "0000000000000000"  # an id no object has: 401 and 403 come before 404


@dataclass
class World:
    """One running service shared by the tests here, with one client per role."""

    running: Deployment
    clients: dict[str, ApiClient]
    other_officer: ApiClient
    other_clinician: ApiClient

    def __getitem__(self, role: str) -> ApiClient:
        return self.clients[role]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    """Signed-in clients for each role (the receiver in TEAM) plus a second officer and
    clinician."""
    # One officer makes every request here: no per-minute cap on creating them. Every role
    # tries the same wrong sign-in from one address: more than five failures must not delay.
    async with deployment(requests_per_minute=10_000, login_max_failures=100) as running:
        clients = {
            role: await running.sign_in(
                role,
                display_name=f"Named {role.title()}",
                team=TEAM if role == "receiver" else None,
            )
            for role in ROLES
            if role != "anonymous"
        }
        clients["anonymous"] = await running.anonymous()
        yield World(
            running, clients, await running.sign_in("officer"), await running.sign_in("clinician")
        )


@dataclass(frozen=True)
class Route:
    """A route, what its rightful users get, and the object it needs."""

    method: str
    path: str
    ok: dict[str, int]
    # "", "waiting", "in_session", "completed", "s297_removal" (a request), "referral",
    # "s298_notice", "alarm"
    needs: str = ""
    body: Any = None
    signed_in: bool = True
    fresh_client: bool = False  # the call ends the session: use a new sign-in


EVERYONE = {"officer": 200, "clinician": 200, "supervisor": 200, "admin": 200, "receiver": 200}
ROUTES = [
    Route("POST", "/api/v1/logout", {r: 204 for r in EVERYONE}, fresh_client=True),
    Route("GET", "/api/v1/me", EVERYONE),
    # A wrong current password is the rightful user's 422; a real change ends sessions.
    Route("POST", "/api/v1/me/password", {r: 422 for r in EVERYONE}, body={"old": "x", "new": "y"}),
    Route("GET", "/api/v1/me/sessions", EVERYONE),
    # No session has this id: every user's 404 (ending a real one: test_security_sessions).
    Route("DELETE", "/api/v1/me/sessions/{id}", {r: 404 for r in EVERYONE}),
    Route("POST", "/api/v1/requests", {"officer": 201}, body=REQUEST_FORM),
    Route("GET", "/api/v1/requests?scope=mine", {"officer": 200}),
    Route(
        "GET",
        "/api/v1/requests/{id}",
        {"officer": 200, "clinician": 200, "supervisor": 200},
        needs="waiting",
    ),
    Route("POST", "/api/v1/requests/{id}/cancel", {"officer": 200}, needs="waiting"),
    Route("PUT", "/api/v1/availability", {"clinician": 200}, body={"status": "available"}),
    Route("GET", "/api/v1/availability", {"clinician": 200}),
    Route("GET", "/api/v1/queue", {"clinician": 200, "supervisor": 200}),
    Route("POST", "/api/v1/requests/{id}/accept", {"clinician": 200}, needs="waiting"),
    Route("POST", "/api/v1/queue/next", {"clinician": 200}, needs="waiting"),
    Route(
        "POST",
        "/api/v1/requests/{id}/release",
        {"clinician": 200},
        needs="in_session",
        body={"reason": "handover"},
    ),
    Route(
        "POST",
        "/api/v1/requests/{id}/messages",
        {"officer": 201, "clinician": 201},
        needs="in_session",
        body={"text": "hello"},
    ),
    Route(
        "GET",
        "/api/v1/requests/{id}/messages",
        {"officer": 200, "clinician": 200},
        needs="in_session",
    ),
    Route(
        "POST",
        "/api/v1/requests/{id}/outcome",
        {"clinician": 201},
        needs="in_session",
        body=OUTCOME_FORM,
    ),
    Route(
        "POST",
        "/api/v1/requests/{id}/outcome/check",
        {"clinician": 200},
        needs="in_session",
        body=OUTCOME_FORM,
    ),
    Route("GET", "/api/v1/requests/{id}/history", {"clinician": 200}, needs="in_session"),
    # Nobody is on duty to take it over here: the colleague is the clinician's 422, an
    # answer to an offer never made their 404 (transfers themselves: test_transfers).
    Route(
        "POST",
        "/api/v1/requests/{id}/transfer",
        {"clinician": 422},
        needs="in_session",
        body={"to": NOBODY},
    ),
    Route("POST", "/api/v1/requests/{id}/transfer/accept", {"clinician": 404}, needs="in_session"),
    Route("POST", "/api/v1/requests/{id}/transfer/decline", {"clinician": 404}, needs="in_session"),
    Route(
        "GET", "/api/v1/requests/{id}/transfer/colleagues", {"clinician": 200}, needs="in_session"
    ),
    Route("GET", "/api/v1/transfers", {"clinician": 200}),
    # Linking is off here, so no request is among the contacts: the clinician's 404 (the
    # verdicts themselves: test_previous_contacts).
    *(
        Route(
            "POST",
            f"/api/v1/requests/{{id}}/history/{verdict}",
            {"clinician": 404},
            needs="in_session",
            body={"request_id": NOBODY},
        )
        for verdict in ("reject", "confirm")
    ),
    Route(
        "POST",
        "/api/v1/requests/{id}/feedback",
        {"officer": 201},
        needs="completed",
        body={"useful": 4},
    ),
    Route(
        "GET",
        "/api/v1/referrals?status=all",
        {"clinician": 200, "supervisor": 200, "receiver": 200},
    ),
    Route(
        "PATCH",
        "/api/v1/referrals/{id}",
        {"clinician": 200, "receiver": 200},
        needs="referral",
        body={"status": "accepted"},
    ),
    Route(
        "GET",
        "/api/v1/requests/{id}/handover",
        {"clinician": 200, "receiver": 200},
        needs="completed",
    ),
    Route(
        "GET",
        "/api/v1/referrals/{id}/s298-notice",
        {"clinician": 200, "supervisor": 200},
        needs="s298_notice",
    ),
    Route(
        "PATCH",
        "/api/v1/requests/{id}/place-of-safety",
        {"clinician": 200, "supervisor": 200},
        needs="s297_removal",
        body={"result": "released"},
    ),
    # More than two in the call: the people in it, consult, guest links (docs/calls.md).
    Route(
        "GET",
        "/api/v1/requests/{id}/participants",
        {"officer": 200, "clinician": 200},
        needs="in_session",
    ),
    Route("GET", "/api/v1/requests/{id}/colleagues", {"clinician": 200}, needs="in_session"),
    # Nobody has this id: the clinician's 422 on `to` (a real consult: test_consult).
    Route(
        "POST",
        "/api/v1/requests/{id}/consult",
        {"clinician": 422},
        needs="in_session",
        body={"to": NOBODY},
    ),
    # The request's own id as the consultant's: nobody consulting, the clinician's 404.
    Route("DELETE", "/api/v1/requests/{id}/consult/{id}", {"clinician": 404}, needs="in_session"),
    Route(
        "POST",
        "/api/v1/requests/{id}/guests",
        {"clinician": 201},
        needs="in_session",
        body={"display_name": "Ana", "role": "interpreter"},
    ),
    Route("DELETE", "/api/v1/requests/{id}/guests/{id}", {"clinician": 404}, needs="in_session"),
    # A guest page's own API: no account gets in, only the page a link opened (test_guests).
    *(
        Route(method, f"/api/v1/guest/{what}", {r: 401 for r in ROLES}, signed_in=False, body=body)
        for method, what, body in (
            ("GET", "participants", None),
            ("GET", "messages", None),
            ("POST", "messages", {"text": "hello"}),
            ("GET", "ice-servers", None),
            ("POST", "leave", None),
        )
    ),
    Route("GET", "/api/v1/areas", EVERYONE),
    Route("GET", "/api/v1/audit", {"admin": 200}),
    # Admins read alarms with the dashboard's figures; only a supervisor acknowledges one.
    Route("GET", "/api/v1/alarms?status=all", {"supervisor": 200, "admin": 200}),
    Route(
        "POST",
        "/api/v1/alarms/{id}/ack",
        {"supervisor": 200},
        needs="alarm",
        body={"note": "Rang the officer"},
    ),
    # An alarm that does not exist is skipped, not refused: the batch is 200 for its role.
    Route("POST", "/api/v1/alarms/ack", {"supervisor": 200}, body={"ids": ["nosuchalarm"]}),
    # Statistics are de-identified aggregates; the stats module also lets admins read them.
    Route("GET", "/api/v1/stats?window=24h", {"supervisor": 200, "admin": 200}),
    Route("GET", "/api/v1/stats/export.csv", {"supervisor": 200, "admin": 200}),
    Route("GET", "/api/v1/stats/export.fhir.ndjson", {"supervisor": 200, "admin": 200}),
    Route(
        "GET",
        "/api/v1/reports/monthly?board=default&month=2026-03",
        {"supervisor": 200, "admin": 200},
    ),
    Route("GET", "/api/v1/ice-servers", EVERYONE),
    Route(
        "POST",
        "/api/v1/connection-test",
        {r: 422 for r in EVERYONE},
        body={"sdp": "v=0", "type": "offer"},
    ),
    Route(
        "POST",
        "/api/v1/login",
        {r: 401 for r in ROLES},
        signed_in=False,
        body={"username": "nobody", "password": "wrong password"},
    ),
    # A second factor: any signed-in user may enrol one (the enrolment token aside).
    Route("POST", "/api/v1/mfa/totp", EVERYONE, body={}),
    Route("POST", "/api/v1/mfa/totp/confirm", {r: 422 for r in EVERYONE}, body={"code": "1"}),
    Route("POST", "/api/v1/mfa/webauthn/register/options", EVERYONE, body={}),
    Route(
        "POST",
        "/api/v1/mfa/webauthn/register/verify",
        {r: 422 for r in EVERYONE},
        body={"ceremony_id": "unknown", "credential": {}},
    ),
    Route("POST", "/api/v1/login/webauthn/options", {r: 200 for r in ROLES}, signed_in=False),
    Route(
        "POST",
        "/api/v1/login/webauthn/verify",
        {r: 401 for r in ROLES},
        signed_in=False,
        body={"ceremony_id": "unknown", "credential": {"id": "AAAA"}},
    ),
    Route("GET", "/healthz", {r: 200 for r in ROLES}, signed_in=False),
    Route("GET", "/readyz", {r: 200 for r in ROLES}, signed_in=False),
    Route("GET", "/api/v1/openapi.json", {r: 200 for r in ROLES}, signed_in=False),
    Route("GET", "/metrics", {r: 200 for r in ROLES}, signed_in=False),
]


def expected_status(route: Route, role: str) -> int:
    """The contract's answer: 401 anonymous, 403 wrong role, else the route's own answer."""
    if role in route.ok:
        return route.ok[role]
    return 401 if role == "anonymous" else 403


async def prepare(world: World, route: Route) -> str:
    """The concrete path, creating the object the rightful user needs."""
    if not route.needs:
        return route.path
    return route.path.format(id=await new_object(world, route.needs))


async def new_object(world: World, needs: str) -> str:
    """The id of a new object of the kind `needs` names."""
    officer, clinician = world["officer"], world["clinician"]
    if needs == "waiting":  # the clinician may take it: first hand back what they have
        await hand_back(clinician)
        return str((await new_request(officer))["id"])
    if needs == "in_session":
        return str((await session_for(world))["id"])
    if needs == "completed":
        return str((await assessed(world, OUTCOME_FORM))["request"]["id"])
    if needs == "referral":
        return str((await assessed(world, OUTCOME_FORM))["referral"]["id"])
    if needs == "s298_notice":
        return await s298_notice(world)
    if needs == "s297_removal":
        return str((await assessed(world, REMOVAL))["request"]["id"])
    assert needs == "alarm", needs
    return await declined_referral_alarm(world)


async def session_for(world: World) -> dict[str, Any]:
    """A new request of the world's officer in session with its clinician, who first hands
    back any session an earlier test left open (one session at a time)."""
    await hand_back(world["clinician"])
    return await in_session(world["officer"], world["clinician"])


async def assessed(world: World, outcome: dict[str, Any]) -> dict[str, Any]:
    """A request of the world's officer on which its clinician filed `outcome`; the answer."""
    request = await session_for(world)
    path = f"/api/v1/requests/{request['id']}/outcome"
    status, done = await world["clinician"].post(path, outcome)
    assert status == 201, done
    return dict(done)


REMOVAL = outcome_form(
    triage_code="B",
    disposition="place_of_safety_s297",
    referral=None,
    place_of_safety=PLACE_OF_SAFETY,
)


async def s298_notice(world: World) -> str:
    """The id of the s298 notification opened by an s297 removal the clinician filed."""
    request_id = (await assessed(world, REMOVAL))["request"]["id"]
    _, listed = await world["clinician"].get("/api/v1/referrals?status=all")
    [notice] = [r for r in listed["referrals"] if r["request_id"] == request_id]
    assert notice["kind"] == "mwc_notification", notice
    return str(notice["id"])


async def declined_referral_alarm(world: World) -> str:
    """The id of the open alarm raised when the receiving team declines a new referral."""
    referral_id = (await assessed(world, OUTCOME_FORM))["referral"]["id"]
    decline = {"status": "declined", "note": "No capacity today"}
    status, body = await world["receiver"].call(
        "PATCH", f"/api/v1/referrals/{referral_id}", decline
    )
    assert status == 200, body
    _, listed = await world["supervisor"].get("/api/v1/alarms")
    [alarm] = [a for a in listed["alarms"] if a["referral_id"] == referral_id]
    return str(alarm["id"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_route_by_role(world: World, route: Route, role: str) -> None:
    """Each role gets the contract's status on each route (401, 403, or the route's answer)."""
    expected = expected_status(route, role)
    allowed = role in route.ok
    path = await prepare(world, route) if allowed else route.path.format(id=NOBODY)
    client = world[role]
    if route.fresh_client and role != "anonymous":
        client = await world.running.sign_in(role)
    status, body = await client.call(route.method, path, route.body)
    assert status == expected, (role, route.method, path, status, body)
    if status >= 400:
        assert body["error"]["code"] and body["error"]["message"]
    if status == 401 and route.signed_in:
        assert body["error"]["code"] == "not_signed_in"
    if status == 403:
        assert body["error"]["code"] == "forbidden"


def route_key(path: str) -> str:
    """A path without its query string, its placeholders written `{}` whatever their name."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


async def test_every_api_route_has_a_row(world: World) -> None:
    """Every `/api/v1` route the application registers (HEAD aside) has a row in ROUTES, and
    every row names a registered route: a new route cannot ship without its authorization
    checked by every role."""
    registered = {
        (route.method, route_key(route.resource.canonical)): route.resource.canonical
        for route in world.running.server.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    rows = {(route.method, route_key(route.path)) for route in ROUTES}
    missing = [
        f"{method} {registered[method, key]}"
        for method, key in sorted(registered)
        if key.startswith("/api/v1/") and (method, key) not in rows
    ]
    assert not missing, f"routes without a row in ROUTES: {', '.join(missing)}"
    unknown = [f"{method} {key}" for method, key in sorted(rows - registered.keys())]
    assert not unknown, f"rows in ROUTES naming no route: {', '.join(unknown)}"


@pytest.mark.parametrize("role", ["officer", "clinician", "supervisor", "admin", "receiver"])
async def test_wrong_role_is_403_even_without_csrf(world: World, role: str) -> None:
    """The role check comes before CSRF: a forbidden role is told 'forbidden', not 'csrf'."""
    path = "/api/v1/requests" if role != "officer" else "/api/v1/queue/next"
    async with world[role].client.post(path, json=REQUEST_FORM) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("method", "path", "role", "body"),
    [
        ("GET", "/api/v1/requests/{id}", "officer", None),
        ("GET", "/api/v1/requests/{id}", "clinician", None),
        ("GET", "/api/v1/requests/{id}", "supervisor", None),
        ("POST", "/api/v1/requests/{id}/cancel", "officer", None),
        ("POST", "/api/v1/requests/{id}/accept", "clinician", None),
        ("POST", "/api/v1/requests/{id}/release", "clinician", {}),
        ("POST", "/api/v1/requests/{id}/messages", "officer", {"text": "hi"}),
        ("GET", "/api/v1/requests/{id}/messages", "clinician", None),
        ("POST", "/api/v1/requests/{id}/outcome", "clinician", OUTCOME_FORM),
        ("PATCH", "/api/v1/referrals/{id}", "clinician", {"status": "accepted"}),
        ("PATCH", "/api/v1/referrals/{id}", "receiver", {"status": "accepted"}),
        ("GET", "/api/v1/requests/{id}/handover", "clinician", None),
        ("GET", "/api/v1/requests/{id}/handover", "receiver", None),
        ("GET", "/api/v1/referrals/{id}/s298-notice", "supervisor", None),
        ("POST", "/api/v1/requests/{id}/feedback", "officer", {"useful": 4}),
        ("POST", "/api/v1/alarms/{id}/ack", "supervisor", {}),
    ],
)
async def test_unknown_object_is_404(
    world: World, method: str, path: str, role: str, body: Any
) -> None:
    """A rightful role naming an object that does not exist gets 404 `not_found`."""
    status, answer = await world[role].call(method, path.format(id=NOBODY), body)
    assert status == 404, answer
    assert answer["error"]["code"] == "not_found"


async def test_another_officers_request_is_404(world: World) -> None:
    """An officer cannot read, cancel or chat on another officer's request: it is 404."""
    request = await session_for(world)
    waiting = await new_request(world["officer"])
    intruder = world.other_officer
    for method, path, body in [
        ("GET", f"/api/v1/requests/{waiting['id']}", None),
        ("POST", f"/api/v1/requests/{waiting['id']}/cancel", None),
        ("GET", f"/api/v1/requests/{request['id']}", None),
        ("GET", f"/api/v1/requests/{request['id']}/messages", None),
        ("POST", f"/api/v1/requests/{request['id']}/messages", {"text": "hi"}),
        ("GET", f"/api/v1/requests/{waiting['id']}/messages", None),
    ]:
        status, answer = await intruder.call(method, path, body)
        assert status == 404, (method, path, answer)
        assert answer["error"]["code"] == "not_found"
        assert "Named" not in json.dumps(answer)
    _, mine = await intruder.get("/api/v1/requests?scope=mine")
    assert mine["requests"] == []
    _, still = await world["officer"].get(f"/api/v1/requests/{waiting['id']}")
    assert still["status"] == "waiting"


async def test_unassigned_clinician_cannot_act_on_session(world: World) -> None:
    """A clinician not in the session gets 404 on the request and its chat (need-to-know) and
    409 on outcome, release and accept."""
    request = await session_for(world)
    rid = request["id"]
    other = world.other_clinician
    for method, path, body in [
        ("GET", f"/api/v1/requests/{rid}/messages", None),
        ("POST", f"/api/v1/requests/{rid}/messages", {"text": "hi"}),
    ]:
        status, answer = await other.call(method, path, body)
        assert status == 404, (method, answer)
    status, answer = await other.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    assert status == 409 and answer["error"]["code"] == "not_in_session"
    status, answer = await other.post(f"/api/v1/requests/{rid}/release", {"reason": "mine"})
    assert status == 409 and answer["error"]["code"] == "not_in_session"
    status, answer = await other.post(f"/api/v1/requests/{rid}/accept")
    assert status == 409 and answer["error"]["code"] == "already_assigned"
    status, seen = await other.get(f"/api/v1/requests/{rid}")
    assert status == 404 and seen["error"]["code"] == "not_found"
    _, after = await world["clinician"].get(f"/api/v1/requests/{rid}")
    assert after["status"] == "in_session"


async def test_clinician_cannot_read_chat_of_waiting_request(world: World) -> None:
    """Before anyone accepts, only the owner officer takes part in the chat."""
    waiting = await new_request(world["officer"])
    await world["officer"].post(
        f"/api/v1/requests/{waiting['id']}/messages", {"text": "Name is Jane Doe"}
    )
    status, answer = await world["clinician"].get(f"/api/v1/requests/{waiting['id']}/messages")
    assert status == 404, answer


async def test_released_clinician_loses_the_chat(world: World) -> None:
    """After releasing, the clinician is no longer a participant."""
    request = await session_for(world)
    await world["clinician"].post(f"/api/v1/requests/{request['id']}/release", {})
    status, _ = await world["clinician"].get(f"/api/v1/requests/{request['id']}/messages")
    assert status == 404


IDENTIFYING_FORM = {
    **REQUEST_FORM,
    "incident_ref": "PS-SECRET-REF-0001",
    "location": {
        "description": "Flat 2/1, 17 Secret Street",
        "area": "Govan",
        "lat": 55.8612345,
        "lon": -4.3123456,
    },
    "subject": {"age_band": "18_25", "sex": "male", "known_name": "Secret Person"},
    "notes": "Secret notes about the person",
}
IDENTIFYING_OUTCOME = {
    **OUTCOME_FORM,
    "summary": "Secret clinical summary",
    "advice_to_officer": "Secret advice to the officer",
    "referral": {"service": "crisis_team", "urgency": "C", "contact": "Secret contact 0141"},
}


def assert_no_secrets(answer: Any, *names: str) -> None:
    """None of the identifying values appear anywhere in `answer`."""
    text = json.dumps(answer)
    for secret in ("Secret", "55.861", "-4.312", "PS-SECRET", *names):
        assert secret not in text, (secret, text)


async def test_supervisor_reads_no_identifying_fields(world: World) -> None:
    """A supervisor reading a request, at any stage, sees codes and area but no identity."""
    officer, clinician, supervisor = world["officer"], world["clinician"], world["supervisor"]
    names = (officer.user.display_name, clinician.user.display_name)
    waiting = await new_request(officer, **IDENTIFYING_FORM)
    status, seen = await supervisor.get(f"/api/v1/requests/{waiting['id']}")
    assert status == 200
    assert_no_secrets(seen, *names)
    assert seen["status"] == "waiting" and seen["priority"] == waiting["priority"]
    assert seen["location"]["area"] == "Govan"

    await hand_back(clinician)  # one session at a time: an earlier test's may still be open
    session = await in_session(officer, clinician, **IDENTIFYING_FORM)
    place = {
        "name": "Secret Hospital",
        "address": "1 Secret Road",
        "is_police_station": False,
        "removed_at": f"{datetime.now(UTC) - timedelta(minutes=20):%Y-%m-%dT%H:%M:%SZ}",
        "person_name": "Secret Person",
        "person_address": "2 Secret Street",
        "circumstances": "Secret circumstances on the bridge",
    }
    outcome = {
        **IDENTIFYING_OUTCOME,
        "disposition": "place_of_safety_s297",
        "place_of_safety": place,
    }
    status, done = await clinician.post(f"/api/v1/requests/{session['id']}/outcome", outcome)
    assert status == 201, done
    status, seen = await supervisor.get(f"/api/v1/requests/{session['id']}")
    assert status == 200
    assert_no_secrets(seen, *names)
    assert seen["officer"] is None and seen["clinician"] is None
    assert seen["incident_ref"] is None and seen["notes"] is None
    assert seen["screening"] is None
    assert seen["subject"]["known_name"] is None and seen["subject"]["age_band"] == "18_25"
    assert seen["location"]["lat"] is None and seen["location"]["lon"] is None
    assert seen["outcome"]["summary"] == "" and seen["outcome"]["advice_to_officer"] == ""
    assert seen["outcome"]["place_of_safety"] is None
    assert seen["outcome"]["triage_code"] == "C"
    assert seen["outcome"]["disposition"] == "place_of_safety_s297"
    assert seen["status"] == "completed"

    status, listed = await supervisor.get("/api/v1/referrals?status=all")
    assert status == 200 and listed["referrals"]
    assert_no_secrets(listed, *names)
    status, queue = await supervisor.get("/api/v1/queue")
    assert status == 200 and waiting["id"] in [item["id"] for item in queue["waiting"]]
    assert_no_secrets(queue, *names)


async def test_clinician_queue_has_no_names(world: World) -> None:
    """The queue a clinician chooses from carries no names, notes or coordinates: only the
    incident reference and the place typed, which they may read on the waiting request."""
    waiting = await new_request(world["officer"], **IDENTIFYING_FORM)
    _, queue = await world["clinician"].get("/api/v1/queue")
    [item] = [item for item in queue["waiting"] if item["id"] == waiting["id"]]
    assert item["incident_ref"] == "PS-SECRET-REF-0001"
    assert item["place"] == "Flat 2/1, 17 Secret Street"
    rest = {k: v for k, v in queue.items() if k != "waiting"}
    rest["item"] = {k: v for k, v in item.items() if k not in ("incident_ref", "place")}
    assert_no_secrets(rest, world["officer"].user.display_name)
