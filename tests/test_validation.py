"""Input validation: every bad body is a clear 400, 413 or 422 naming the field, never a 5xx."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from conftest import OUTCOME_FORM, REQUEST_FORM, ApiClient, deployment, in_session

pytestmark = pytest.mark.asyncio(loop_scope="module")

MISSING = object()


@dataclass
class World:
    """One running service shared by every test here (no test changes what others read)."""

    officer: ApiClient
    clinician: ApiClient
    anonymous: ApiClient
    session_id: str
    referral_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    """An officer, a clinician in session with them, and an open referral."""
    # One officer makes every request here: no per-minute cap on creating them.
    async with deployment(requests_per_minute=10_000) as running:
        officer = await running.sign_in("officer")
        clinician = await running.sign_in("clinician")
        done = await in_session(officer, clinician)
        status, body = await clinician.post(f"/api/v1/requests/{done['id']}/outcome", OUTCOME_FORM)
        assert status == 201, body
        session = await in_session(officer, clinician)
        yield World(
            officer, clinician, await running.anonymous(), session["id"], body["referral"]["id"]
        )


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `base` with the dotted `path` set to `value` (MISSING deletes it)."""
    body = copy.deepcopy(base)
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target.setdefault(name, {})
    if value is MISSING:
        del target[last]
    else:
        target[last] = value
    return body


def assert_invalid(
    status: int, body: Any, field: str, code: str | None = "validation_error"
) -> None:
    """A 422 in the contract's error shape naming `field` (with `code`; None: validation)."""
    assert status == 422, (status, body)
    error = body["error"]
    assert error["code"] == (code or "validation_error"), error
    assert isinstance(error["message"], str) and error["message"], error
    assert field in error["fields"], error
    assert isinstance(error["fields"][field], str) and error["fields"][field], error


async def send_raw(
    client: ApiClient, method: str, path: str, data: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    """Send `data` as the body, unchanged; return the status and decoded JSON error."""
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": content_type}
    async with client.client.request(method, path, data=data, headers=headers) as r:
        assert r.content_type == "application/json", r.content_type
        return r.status, await r.json()


# ---- the request form -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["incident_ref", "location", "location.description", "urgency", "mode", "consent"]
)
async def test_missing_required_request_field(world: World, path: str) -> None:
    """Each required field of the request form, when missing, is a 422 naming its path (a
    missing consent is `consent_required`, as a false one is)."""
    status, body = await world.officer.post(
        "/api/v1/requests", changed(REQUEST_FORM, path, MISSING)
    )
    assert_invalid(status, body, path, "consent_required" if path == "consent" else None)


async def test_consent_false_is_consent_required(world: World) -> None:
    """Without the person's consent the request is refused with `consent_required`."""
    status, body = await world.officer.post(
        "/api/v1/requests", changed(REQUEST_FORM, "consent", False)
    )
    assert_invalid(status, body, "consent", code="consent_required")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("urgency", "soon", "urgency"),
        ("urgency", "IMMEDIATE", "urgency"),
        ("mode", "carrier_pigeon", "mode"),
        ("subject.age_band", "30", "subject.age_band"),
        ("subject.age_band", "adult", "subject.age_band"),
        ("subject.sex", "f", "subject.sex"),
        ("concerns", ["distress", "sadness"], "concerns.1"),
        ("concerns", "distress", "concerns"),
        ("concerns", ["other"] * 9, "concerns"),
        ("screening.cssrs.q4", "sometimes", "screening.cssrs.q4"),
        ("screening.cssrs.q7", True, "screening.cssrs.q7"),
        ("screening.tool", "phq9", "screening.tool"),
        ("incident_ref", 42, "incident_ref"),
        ("incident_ref", "x" * 65, "incident_ref"),
        ("incident_ref", "   ", "incident_ref"),
        ("notes", "n" * 2001, "notes"),
        ("location.area", "a" * 65, "location.area"),
        ("location.description", "d" * 201, "location.description"),
        ("location.description", "", "location.description"),
        ("subject.known_name", "k" * 101, "subject.known_name"),
        ("location.lat", 90.0001, "location.lat"),
        ("location.lat", -91, "location.lat"),
        ("location.lon", 180.5, "location.lon"),
        ("location.lon", -181, "location.lon"),
        ("location.lat", "north", "location.lat"),
        ("location.postcode", "G1 2FF", "location.postcode"),
        ("badge_number", "1234", "badge_number"),
        ("location", "Buchanan St", "location"),
        ("consent", "perhaps", "consent"),
    ],
)
async def test_bad_request_field(world: World, path: str, value: Any, field: str) -> None:
    """An invalid value, over-long text, out-of-range coordinate or unknown field is a 422."""
    status, body = await world.officer.post("/api/v1/requests", changed(REQUEST_FORM, path, value))
    assert_invalid(status, body, field)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("incident_ref", "x" * 64),
        ("notes", "n" * 2000),
        ("location.area", "a" * 64),
        ("location.lat", 90),
        ("location.lat", -90),
        ("location.lon", 180),
        ("location.lon", -180),
        ("location.area", "Any free-text area, e.g. Skye & Lochalsh"),
        ("concerns", []),
        ("subject", {}),
        ("screening", {}),
    ],
)
async def test_limits_are_inclusive(world: World, path: str, value: Any) -> None:
    """Values exactly at a limit, and optional parts left empty, are accepted."""
    status, body = await world.officer.post("/api/v1/requests", changed(REQUEST_FORM, path, value))
    assert status == 201, body


@pytest.mark.parametrize("key", ["", "k" * 129])
async def test_bad_idempotency_key(world: World, key: str) -> None:
    """An empty or over-long Idempotency-Key header is a 422."""
    status, body = await world.officer.post(
        "/api/v1/requests", REQUEST_FORM, headers={"Idempotency-Key": key}
    )
    assert_invalid(status, body, "Idempotency-Key")


# ---- the other bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "t" * 2001}, "text"),
        ({"text": ["hi"]}, "text"),
        ({"text": "hi", "urgent": True}, "urgent"),
    ],
)
async def test_bad_message(world: World, form: dict[str, Any], field: str) -> None:
    """A missing, empty, over-long or non-text message is a 422."""
    status, body = await world.officer.post(f"/api/v1/requests/{world.session_id}/messages", form)
    assert_invalid(status, body, field)


async def test_longest_message_is_accepted(world: World) -> None:
    """A message of exactly 2000 characters is accepted."""
    status, body = await world.officer.post(
        f"/api/v1/requests/{world.session_id}/messages", {"text": "m" * 2000}
    )
    assert status == 201 and len(body["text"]) == 2000


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("triage_code", MISSING, "triage_code"),
        ("triage_code", "H", "triage_code"),
        ("triage_code", "c", "triage_code"),
        ("disposition", MISSING, "disposition"),
        ("disposition", "sent_home", "disposition"),
        ("risk", MISSING, "risk"),
        ("risk.to_self", "extreme", "risk.to_self"),
        ("risk.to_others", MISSING, "risk.to_others"),
        ("risk.from_others", "some", "risk.from_others"),
        ("risk.self_neglect", 3, "risk.self_neglect"),
        ("conveyance", "taxi", "conveyance"),
        ("summary", "s" * 4001, "summary"),
        ("advice_to_officer", "a" * 1001, "advice_to_officer"),
        ("officer_released_at", "after tea", "officer_released_at"),
        ("referral.service", "dentist", "referral.service"),
        ("referral.service", MISSING, "referral.service"),
        ("referral.urgency", "F", "referral.urgency"),
        ("referral.due_at", "tomorrow", "referral.due_at"),
        ("referral.due_at", "0001-01-01T00:00:00+01:00", "referral.due_at"),
        ("referral.due_at", "9999-12-31T23:59:59-01:00", "referral.due_at"),
        ("referral.contact", "c" * 201, "referral.contact"),
        ("referral.priority", 1, "referral.priority"),
        ("place_of_safety", {"name": "Ward 5"}, "place_of_safety.address"),
        ("recording_url", "http://x", "recording_url"),
    ],
)
async def test_bad_outcome_field(world: World, path: str, value: Any, field: str) -> None:
    """Every outcome enum, length and time is checked; the session stays open."""
    status, body = await world.clinician.post(
        f"/api/v1/requests/{world.session_id}/outcome", changed(OUTCOME_FORM, path, value)
    )
    assert_invalid(status, body, field)
    _, request = await world.clinician.get(f"/api/v1/requests/{world.session_id}")
    assert request["status"] == "in_session"


PLACE = {
    "name": "Royal Infirmary",
    "address": "84 Castle St",
    "is_police_station": False,
    "removed_at": "2026-11-26T01:00:00Z",
    "person_name": "Jane Doe",
    "person_address": "1 High St",
    "circumstances": "On the bridge, a public place.",
}


@pytest.mark.parametrize(
    ("removed_at", "field"),
    [
        ("9999-12-30T00:00:00Z", "place_of_safety.removed_at"),
        ("0001-01-01T00:00:00+00:30", "place_of_safety.removed_at"),
        ("last night", "place_of_safety.removed_at"),
    ],
)
async def test_bad_removal_time(world: World, removed_at: str, field: str) -> None:
    """A removal time that cannot be a real s297 removal is a 422, not a server error."""
    form = {
        **OUTCOME_FORM,
        "triage_code": "B",
        "disposition": "place_of_safety_s297",
        "place_of_safety": {**PLACE, "removed_at": removed_at},
    }
    status, body = await world.clinician.post(f"/api/v1/requests/{world.session_id}/outcome", form)
    assert status == 422, body
    assert field in body["error"]["fields"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "status"),
        ({"status": "away"}, "status"),
        ({"status": "AVAILABLE"}, "status"),
        ({"status": None}, "status"),
        ({"status": "busy", "until": "5pm"}, "until"),
    ],
)
async def test_bad_availability(world: World, form: dict[str, Any], field: str) -> None:
    """Availability must be available, busy or offline."""
    status, body = await world.clinician.call("PUT", "/api/v1/availability", form)
    assert_invalid(status, body, field)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "status"),
        ({"status": "pending"}, "status"),
        ({"status": "done"}, "status"),
        ({"status": "completed", "note": "n" * 1001}, "note"),
        ({"status": "completed", "due_at": "2030-01-01T00:00:00Z"}, "due_at"),
    ],
)
async def test_bad_referral_update(world: World, form: dict[str, Any], field: str) -> None:
    """A referral can only move to accepted, completed, did_not_attend or cancelled."""
    status, body = await world.clinician.call(
        "PATCH", f"/api/v1/referrals/{world.referral_id}", form
    )
    assert_invalid(status, body, field)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": "x"}, "username"),
        ({"username": "x"}, "password"),
        ({"username": "u" * 65, "password": "x"}, "username"),
        ({"username": "", "password": "x"}, "username"),
        ({"username": "x", "password": "p", "remember": True}, "remember"),
    ],
)
async def test_bad_login(world: World, form: dict[str, Any], field: str) -> None:
    """A sign-in body with a missing, empty or unknown field is a 422."""
    status, body = await world.anonymous.post("/api/v1/login", form)
    assert_invalid(status, body, field)


async def test_over_long_release_reason(world: World) -> None:
    """A release reason over 500 characters is a 422 and the session stays."""
    status, body = await world.clinician.post(
        f"/api/v1/requests/{world.session_id}/release", {"reason": "r" * 501}
    )
    assert_invalid(status, body, "reason")


# ---- bodies that are not JSON objects -------------------------------------------------------

BODY_ROUTES = [
    ("POST", "/api/v1/requests", "officer"),
    ("POST", "/api/v1/login", "anonymous"),
    ("PUT", "/api/v1/availability", "clinician"),
    ("POST", "/api/v1/requests/{session}/messages", "officer"),
    ("POST", "/api/v1/requests/{session}/outcome", "clinician"),
    ("PATCH", "/api/v1/referrals/{referral}", "clinician"),
]


def route_for(world: World, method: str, path: str, who: str) -> tuple[ApiClient, str]:
    """The client and concrete path for one of BODY_ROUTES."""
    client = {"officer": world.officer, "clinician": world.clinician, "anonymous": world.anonymous}[
        who
    ]
    return client, path.format(session=world.session_id, referral=world.referral_id)


@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES)
@pytest.mark.parametrize(
    "raw",
    [
        b'{"incident_ref": ',
        b"{'single': 'quotes'}",
        b"not json",
        b"\xff\xfe\x00garbage",
        b'{"a": 1} trailing',
    ],
    ids=["truncated", "single-quotes", "text", "bad-utf8", "trailing"],
)
async def test_malformed_json_is_400(
    world: World, method: str, path: str, who: str, raw: bytes
) -> None:
    """A body that is not valid JSON is 400 `malformed_json`."""
    client, concrete = route_for(world, method, path, who)
    status, body = await send_raw(client, method, concrete, raw)
    assert status == 400, body
    assert body["error"]["code"] == "malformed_json" and body["error"]["message"]


@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES)
@pytest.mark.parametrize(
    "raw",
    [b"[]", b'[{"text": "hi"}]', b'"text"', b"42", b"null", b"true"],
    ids=["empty-array", "array", "string", "number", "null", "bool"],
)
async def test_non_object_json_is_400(
    world: World, method: str, path: str, who: str, raw: bytes
) -> None:
    """A JSON array, scalar or null body is 400: the body must be an object."""
    client, concrete = route_for(world, method, path, who)
    status, body = await send_raw(client, method, concrete, raw)
    assert status == 400, body
    assert body["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("method", "path", "who", "field"),
    [
        (*route, field)
        for route, field in zip(
            BODY_ROUTES,
            ["incident_ref", "username", "status", "text", "triage_code", "status"],
            strict=True,
        )
    ],
)
@pytest.mark.parametrize("raw", [b"", b"  \n"], ids=["empty", "blank"])
async def test_empty_body_names_required_fields(
    world: World, method: str, path: str, who: str, field: str, raw: bytes
) -> None:
    """An empty body counts as `{}`, so the 422 names the required fields."""
    client, concrete = route_for(world, method, path, who)
    status, body = await send_raw(client, method, concrete, raw)
    assert_invalid(status, body, field)


@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES)
async def test_body_over_limit_is_413(world: World, method: str, path: str, who: str) -> None:
    """A body over max_body_bytes (64 KiB by default) is 413 in the JSON error shape."""
    client, concrete = route_for(world, method, path, who)
    huge = ('{"notes": "' + "x" * 70_000 + '"}').encode()
    status, body = await send_raw(client, method, concrete, huge)
    assert status == 413, body
    assert body["error"]["code"] == "body_too_large"


async def test_body_just_under_limit_is_validated(world: World) -> None:
    """A body just under the limit is read and validated normally (here: notes too long)."""
    form = changed(REQUEST_FORM, "notes", "x" * 60_000)
    status, body = await world.officer.post("/api/v1/requests", form)
    assert_invalid(status, body, "notes")


async def test_wrong_content_type_is_415(world: World) -> None:
    """A body not sent as application/json (here a form post) is 415, not parsed."""
    status, body = await send_raw(
        world.officer,
        "POST",
        "/api/v1/requests",
        b"incident_ref=1&consent=true",
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("query", ["status=late", "status=", "status=OPEN"])
async def test_bad_referral_scope(world: World, query: str) -> None:
    """The referral list accepts only open, overdue or all."""
    status, body = await world.clinician.get(f"/api/v1/referrals?{query}")
    assert_invalid(status, body, "status")


@pytest.mark.parametrize(
    "request_id", ["%00", "x" * 300, "..%2F..%2Fetc", "%F0%9F%98%80", "req:1", "*"]
)
async def test_odd_ids_are_404(world: World, request_id: str) -> None:
    """Unusual ids in the path are a plain 404, never a server error."""
    status, body = await world.officer.get(f"/api/v1/requests/{request_id}")
    assert status == 404, body
    status, body = await world.clinician.call(
        "PATCH", f"/api/v1/referrals/{request_id}", {"status": "accepted"}
    )
    assert status == 404, body
