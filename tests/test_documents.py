"""Printable documents: the clinical handover (assigned clinician and receiving team only)
and the s298 notice with every field the Act asks for; each view is in the access log."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer
from markupsafe import escape

from conftest import OUTCOME_FORM, ApiClient, SignInFactory, in_session, read_stream
from triage_service.web.state import STORE

REMOVED = datetime.now(UTC) - timedelta(minutes=30)
STATION = {
    "name": "Leith Police Station",
    "address": "1 Queen Charlotte St, Edinburgh",
    "is_police_station": True,
    "police_station_reason": "No hospital place of safety free; person violent",
    "removed_at": f"{REMOVED:%Y-%m-%dT%H:%M:%SZ}",
    "person_name": "Jane <b>Doe</b>",
    "person_address": "1 High St, Edinburgh",
    "circumstances": "On the railway platform edge, a public place, distressed.",
    "nearest_relative_informed": True,
    "local_authority_informed": False,
}
S297_OUTCOME = {
    **OUTCOME_FORM,
    "triage_code": "B",
    "disposition": "place_of_safety_s297",
    "referral": {"service": "liaison_psychiatry", "urgency": "B"},
    "place_of_safety": STATION,
}


def static_prefix(text: str) -> str:
    """The versioned static prefix the page links its stylesheet from."""
    found = re.search(r'href="([^"]+)/css/print.css"', text)
    assert found is not None
    return found.group(1)


def london(when: datetime) -> str:
    """A time as the documents print it for a board in Europe/London (GMT or BST)."""
    return when.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M %Z")


async def page(client: ApiClient, path: str) -> tuple[int, str]:
    """GET an HTML document: its status and text."""
    async with client.client.get(path) as response:
        return response.status, await response.text()


async def test_handover_for_the_clinician_and_team_only(sign_in: SignInFactory) -> None:
    """The assigned clinician reads the handover (HTML with print CSS and every handover
    fact); the officer gets 403, another clinician 404, another team 404."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    path = f"/api/v1/requests/{request['id']}/handover"
    status, text = await page(clinician, path)
    assert status == 200
    for fact in (OUTCOME_FORM["summary"], OUTCOME_FORM["advice_to_officer"], "crisis_team:default"):
        assert html.escape(fact) in text
    assert "print.css" in text and 'data-testid="print"' in text
    assert [s for s in re.findall(r"<script[^>]*>", text)] == [
        f'<script type="module" src="{static_prefix(text)}/js/print.js">'
    ]  # the Print button's module only: no inline script
    assert (await officer.get(path))[0] == 403
    assert (await (await sign_in("supervisor")).get(path))[0] == 403
    assert (await (await sign_in("clinician")).get(path))[0] == 404
    assert (await (await sign_in("receiver", team="cmht:default")).get(path))[0] == 404
    assert (await (await sign_in("receiver", team="crisis_team:default")).get(path))[0] == 200


async def notice_of(officer: Any, request_id: str) -> str:
    """The s298 notice id stored on a request."""
    record = await cast(TestServer, officer.client.server).app[STORE].requests.load(request_id)
    assert record is not None and record.notice_id is not None
    return record.notice_id


async def test_s298_notice_has_every_field(sign_in: SignInFactory) -> None:
    """The notice names the person and address, the constable and the incident, the date and
    time of removal in the board's local time with its zone, the circumstances, the place of
    safety's address, why a police station was used, and the clinician and request
    references, all escaped; it is not sent yet."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", S297_OUTCOME)
    assert status == 201, done
    notice_id = await notice_of(officer, request["id"])
    status, text = await page(clinician, f"/api/v1/referrals/{notice_id}/s298-notice")
    assert status == 200
    expected: dict[str, Any] = {
        "person_name": STATION["person_name"],
        "person_address": STATION["person_address"],
        "removed_at": london(REMOVED),
        "constable": officer.user.display_name,
        "circumstances": STATION["circumstances"],
        "place_of_safety_address": STATION["address"],
        "police_station_reason": STATION["police_station_reason"],
        "clinician": clinician.user.display_name,
        "request_ref": request["id"],
        "incident_ref": request["incident_ref"],
        "notice_ref": notice_id,
    }
    for field, value in expected.items():
        assert f'data-field="{field}">{escape(value)}' in text, field
    assert "<b>Doe</b>" not in text and " UTC" not in text
    assert 'data-field="notice_status" data-sent="false">Not sent' in text
    supervisor = await sign_in("supervisor")
    assert (await page(supervisor, f"/api/v1/referrals/{notice_id}/s298-notice"))[0] == 200
    assert (await officer.get(f"/api/v1/referrals/{notice_id}/s298-notice"))[0] == 403
    other = await sign_in("clinician")
    assert (await other.get(f"/api/v1/referrals/{notice_id}/s298-notice"))[0] == 404
    referral_id = done["referral"]["id"]
    assert (await clinician.get(f"/api/v1/referrals/{referral_id}/s298-notice"))[0] == 404


async def test_every_document_view_is_audited(sign_in: SignInFactory) -> None:
    """Each handover and s298 notice view appends an access entry with its reason."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", S297_OUTCOME)
    store = cast(TestServer, officer.client.server).app[STORE]
    notice_id = await notice_of(officer, request["id"])
    headers = {"X-Access-Reason": "MWC notification"}
    for path in (
        f"/api/v1/requests/{request['id']}/handover",
        f"/api/v1/referrals/{notice_id}/s298-notice",
    ):
        async with clinician.client.get(path, headers=headers) as response:
            assert response.status == 200
    entries = await read_stream(store.client, store.keys.audit)
    mine = [e for e in entries if e.get("user_id") == clinician.user.id]
    assert [e["action"] for e in mine if e["action"] in ("handover", "s298_notice")] == [
        "handover",
        "s298_notice",
    ]
    assert all(e.get("reason") == "MWC notification" for e in mine[-2:])


async def test_handover_has_what_the_receiving_team_needs_to_act(sign_in: SignInFactory) -> None:
    """The handover says where the person is (place, the area's directory name, the
    coordinates), what the officer found (concerns, each C-SSRS answer, notes), who they are
    (the name given), who to call back (the officer's and the clinician's names and numbers)
    and every time in the board's local time with its zone (never UTC), with a Print button."""
    officer = await sign_in("officer", display_name="PC Morag Reid")
    clinician = await sign_in("clinician", display_name="Nurse Ali Khan", phone="0131 496 0000")
    request = await in_session(officer, clinician, officer_phone="07700 900123")
    status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert status == 201, done
    status, text = await page(clinician, f"/api/v1/requests/{request['id']}/handover")
    assert status == 200
    due = datetime.fromisoformat(done["referral"]["due_at"])
    expected = {
        "location": "Bus station, Buchanan St",
        "area": "Default area",
        "coordinates": "55.86, -4.25",
        "concerns": "suicidal thoughts, distress",
        "notes": "Sitting on the platform edge, calm now.",
        "known_name": "Jane",
        "officer": "PC Morag Reid, 07700 900123",
        "clinician": "Nurse Ali Khan, 0131 496 0000",
        "incident_ref": request["incident_ref"],
        "due_at": london(due),
        "assessed_at": london(datetime.fromisoformat(done["request"]["completed_at"])),
    }
    for field, value in expected.items():
        assert f'data-field="{field}">{escape(value)}' in text, field
    for question, answer in (("1. Wished to be dead", "Yes"), ("3. Thought about how", "No")):
        assert f'<th scope="row">{question}</th><td>{answer}</td>' in text, question
    assert " UTC" not in text and "(Europe/London)" in text


async def removal(officer: ApiClient, clinician: ApiClient) -> tuple[str, str]:
    """An s297 removal the clinician filed: its request id and its s298 notice id."""
    request = await in_session(officer, clinician)
    status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", S297_OUTCOME)
    assert status == 201, done
    return request["id"], await notice_of(officer, request["id"])


async def test_place_of_safety_end_and_result_reach_the_notice(sign_in: SignInFactory) -> None:
    """The filing clinician records when the detention ended and the examination's result
    (200); the notice shows them in local time; an end before the removal or after now is
    422 `ended_at`; another clinician and a request without a removal are 404, an officer
    403; a supervisor may record them too."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request_id, notice_id = await removal(officer, clinician)
    path = f"/api/v1/requests/{request_id}/place-of-safety"
    ended = (REMOVED + timedelta(minutes=20)).replace(second=0, microsecond=0)
    change = {"ended_at": ended.isoformat(), "result": "informal_admission", "note": "Ward 3"}
    status, body = await clinician.call("PATCH", path, change)
    assert status == 200, body
    assert body["result"] == "informal_admission" and body["note"] == "Ward 3"
    assert datetime.fromisoformat(body["ended_at"]) == ended
    _, text = await page(clinician, f"/api/v1/referrals/{notice_id}/s298-notice")
    assert f'data-field="ended_at">{london(ended)}' in text
    assert 'data-field="result">Admitted informally (by agreement)' in text
    for bad in (REMOVED - timedelta(minutes=1), datetime.now(UTC) + timedelta(hours=1)):
        status, body = await clinician.call("PATCH", path, {"ended_at": bad.isoformat()})
        assert status == 422 and list(body["error"]["fields"]) == ["ended_at"], body
    status, body = await clinician.call("PATCH", path, {"result": "escaped"})
    assert status == 422 and list(body["error"]["fields"]) == ["result"]
    other = await sign_in("clinician")
    assert (await other.call("PATCH", path, {"result": "released"}))[0] == 404
    assert (await officer.call("PATCH", path, {"result": "released"}))[0] == 403
    plain = await in_session(officer, other)
    await other.post(f"/api/v1/requests/{plain['id']}/outcome", OUTCOME_FORM)
    plain_path = f"/api/v1/requests/{plain['id']}/place-of-safety"
    assert (await other.call("PATCH", plain_path, {"result": "released"}))[0] == 404
    supervisor = await sign_in("supervisor")
    status, body = await supervisor.call("PATCH", path, {"result": "released"})
    assert status == 200 and body["result"] == "released" and body["note"] == "Ward 3"


async def test_an_s298_notice_is_sent_or_not_sent(sign_in: SignInFactory) -> None:
    """An s298 notification cannot be 'did not attend' (422 naming `status`); marked
    completed it reads "Sent" with its local time on the notice."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, notice_id = await removal(officer, clinician)
    referral = f"/api/v1/referrals/{notice_id}"
    status, body = await clinician.call("PATCH", referral, {"status": "did_not_attend"})
    assert status == 422 and list(body["error"]["fields"]) == ["status"], body
    status, body = await clinician.call("PATCH", referral, {"status": "completed"})
    assert status == 200, body
    _, text = await page(clinician, f"{referral}/s298-notice")
    sent = london(datetime.fromisoformat(body["completed_at"]))
    assert f'data-field="notice_status" data-sent="true">Sent {sent}' in text


async def test_s298_notice_is_withheld_from_another_boards_supervisor(
    sign_in: SignInFactory,
) -> None:
    """A supervisor covering only another board gets 404 for the notice and for recording
    the detention's end; a supervisor of the request's board (or of every board) reads it."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request_id, notice_id = await removal(officer, clinician)
    supervisors = {
        name: await sign_in("supervisor", boards=boards)
        for name, boards in (("elsewhere", "lothian"), ("here", "default"), ("all", ""))
    }
    notice = f"/api/v1/referrals/{notice_id}/s298-notice"
    change = ("PATCH", f"/api/v1/requests/{request_id}/place-of-safety", {"result": "other"})
    status, text = await page(supervisors["elsewhere"], notice)
    assert status == 404 and str(STATION["person_address"]) not in text
    assert (await supervisors["elsewhere"].call(*change))[0] == 404
    for name in ("here", "all"):
        assert (await page(supervisors[name], notice))[0] == 200, name
        assert (await supervisors[name].call(*change))[0] == 200, name
