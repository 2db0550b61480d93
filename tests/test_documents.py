"""Printable documents: the clinical handover (assigned clinician and receiving team only)
and the s298 notice with every field the Act asks for; each view is in the access log."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any, cast

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
    assert "print.css" in text and "<script" not in text
    assert (await officer.get(path))[0] == 403
    assert (await (await sign_in("supervisor")).get(path))[0] == 403
    assert (await (await sign_in("clinician")).get(path))[0] == 404
    assert (await (await sign_in("receiver", team="cmht:default")).get(path))[0] == 404
    assert (await (await sign_in("receiver", team="crisis_team:default")).get(path))[0] == 200


async def notice_of(officer: Any, request_id: str) -> str:
    """The s298 notice id stored on a request."""
    record = await cast(TestServer, officer.client.server).app[STORE].requests.load(request_id)
    assert record is not None
    return record["notice_id"]


async def test_s298_notice_has_every_field(sign_in: SignInFactory) -> None:
    """The notice names the person and address, the date and time of removal, the
    circumstances, the place of safety's address, why a police station was used, and the
    clinician and request references, all escaped."""
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
        "removed_at": f"{REMOVED:%Y-%m-%d %H:%M} UTC",
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
    assert "<b>Doe</b>" not in text
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
