"""GET /api/v1/stats/export.fhir.ndjson: valid FHIR, the right resources, no identifying value."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from fhir.resources.R4B import get_fhir_model_class

from conftest import OUTCOME_FORM, ApiClient, FakeClock, SignInFactory, read_stream
from support.forms import (  # noon_clock: the fixture `clock`
    DAY,
    SECRETS,
    identifying_form,
    identifying_outcome,
    noon_clock,  # noqa: F401
)
from triage_service.domain.codes import Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.export import csv as export_csv
from triage_service.service import lifecycle
from triage_service.web.state import SETTINGS, STORE

EXPORT = "/api/v1/stats/export.fhir.ndjson"
WINDOW = {"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"}
BASE = "https://board.example/fhir/triage"
# Codes the R4 value sets bind as required (the models check the form of a code, not these).
ENCOUNTER_STATUS = {
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
}
REQUEST_STATUS = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}
REQUEST_INTENT = {
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}
REQUEST_PRIORITY = {"routine", "urgent", "asap", "stat"}

H, M = 3_600_000, 60_000


# Sign-ins outlive the clock jumps of these tests; codes under a health board's base URL.
pytestmark = pytest.mark.settings(
    sweep_interval_s=3600, session_absolute_s=30 * 86400, fhir_base_url=BASE
)


def parse(text: str) -> list[dict[str, Any]]:
    """The NDJSON's resources, each validated by its fhir.resources model and value sets."""
    assert text.endswith("\n")
    resources = []
    for line in text.splitlines():
        data = json.loads(line)
        model = get_fhir_model_class(data["resourceType"]).model_validate_json(line)
        assert model.model_dump(mode="json") == data
        if data["resourceType"] == "Encounter":
            assert data["status"] in ENCOUNTER_STATUS
        else:
            assert data["resourceType"] == "ServiceRequest"
            assert data["status"] in REQUEST_STATUS and data["intent"] in REQUEST_INTENT
            assert data.get("priority", "routine") in REQUEST_PRIORITY
        resources.append(data)
    return resources


async def assessed(
    officer: ApiClient,
    clinician: ApiClient,
    clock: FakeClock,
    at_ms: int,
    outcome: dict[str, Any],
    referral_status: str | None = None,
) -> str:
    """A request made at `at_ms`, accepted a minute later and completed 20 minutes after
    that with `outcome`, its referral then moved to `referral_status`; return its id."""
    clock.now_ms = at_ms
    status, created = await officer.post("/api/v1/requests", identifying_form())
    assert status == 201, created
    clock.now_ms += M
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    clock.now_ms += 20 * M
    status, filed = await clinician.post(f"/api/v1/requests/{created['id']}/outcome", outcome)
    assert status == 201, filed
    if referral_status:
        clock.now_ms += H
        status, _ = await clinician.call(
            "PATCH", f"/api/v1/referrals/{filed['referral']['id']}", {"status": referral_status}
        )
        assert status == 200
    return str(created["id"])


def by_type(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type by id."""
    return {r["id"]: r for r in resources if r["resourceType"] == kind}


async def test_fhir_export_resources_and_no_identifiers(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """An Encounter per completed request in the window and a ServiceRequest per referral,
    every line a valid resource, and no name, free text, place or coordinate anywhere."""
    officer = await sign_in("officer", display_name=SECRETS["officer"])
    clinician = await sign_in("clinician", display_name=SECRETS["clinician"])
    advice = {**OUTCOME_FORM, "triage_code": "G", "disposition": "advice_only", "referral": None}
    dbi = {
        **OUTCOME_FORM,
        "triage_code": "E",
        "disposition": "dbi_referral",
        "referral": {"service": "dbi", "urgency": "E", "contact": SECRETS["contact"]},
    }
    before = await assessed(officer, clinician, clock, DAY + 8 * H + 30 * M, OUTCOME_FORM)
    s297 = await assessed(
        officer, clinician, clock, DAY + 9 * H, identifying_outcome(), "completed"
    )
    missed = await assessed(
        officer, clinician, clock, DAY + 9 * H + 10 * M, OUTCOME_FORM, "did_not_attend"
    )
    advised = await assessed(officer, clinician, clock, DAY + 9 * H + 20 * M, advice)
    pending = await assessed(officer, clinician, clock, DAY + 9 * H + 30 * M, dbi)
    clock.now_ms = DAY + 10 * H
    await officer.post("/api/v1/requests", identifying_form())  # still waiting: no resource
    after = await assessed(officer, clinician, clock, DAY + 11 * H, OUTCOME_FORM)
    clock.now_ms = DAY + 14 * H
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get(EXPORT, params=WINDOW) as r:
        assert r.status == 200
        assert r.content_type == "application/fhir+ndjson"
        assert "attachment" in r.headers["Content-Disposition"]
        text = await r.text()
    resources = parse(text)
    encounters = by_type(resources, "Encounter")
    requests = by_type(resources, "ServiceRequest")
    assert list(encounters) == [s297, missed, advised, pending]
    assert before not in encounters and after not in encounters
    assert len(requests) == 3 and len(resources) == 7
    first = encounters[s297]
    assert first["class"]["code"] == "VR" and first["status"] == "finished"
    assert first["period"] == {"start": "2026-03-02T09:01:00Z", "end": "2026-03-02T09:21:00Z"}
    assert first["reasonCode"][0]["coding"][0] == {
        "system": f"{BASE}/CodeSystem/triage-code",
        "code": "B",
    }
    assert first["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == (
        "place_of_safety_s297"
    )
    referrals = {r["encounter"]["reference"]: r for r in requests.values()}
    assert set(referrals) == {f"Encounter/{i}" for i in (s297, missed, pending)}
    done, dna, open_ = (referrals[f"Encounter/{i}"] for i in (s297, missed, pending))
    assert [r["status"] for r in (done, dna, open_)] == ["completed", "revoked", "active"]
    assert dna["extension"][0]["valueCode"] == "did_not_attend"
    assert (done["priority"], open_["priority"]) == ("asap", "routine")  # urgency B, E
    assert open_["performerType"]["coding"][0]["code"] == "dbi"
    assert done["subject"] == first["subject"] and done["subject"]["type"] == "Patient"
    assert done["occurrencePeriod"]["start"] == "2026-03-02T09:21:00Z"
    for name, value in {**SECRETS, "area": "Glasgow"}.items():
        assert value not in text, name


async def test_fhir_export_pages_through_many_requests(
    sign_in: SignInFactory, app: web.Application, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than two pages of completed requests, more than a page of them created in the same
    millisecond, each come out once with its referral (pages of 50 here, as of 500 in
    service)."""
    monkeypatch.setattr(export_csv, "PAGE", 50)
    store, settings = app[STORE], app[SETTINGS]
    officer = User(id="o1", username="o1", display_name="O", role=Role.OFFICER)
    clinician = User(id="c1", username="c1", display_name="C", role=Role.CLINICIAN)
    form = RequestForm.model_validate(identifying_form())
    outcome = OutcomeForm.model_validate(OUTCOME_FORM)
    expected = set()
    for i in range(130):
        at = DAY + 10 * H + (0 if i < 75 else i)
        record, _ = await lifecycle.create_request(
            store, settings, officer, form, now_ms=at, idempotency_key=None
        )
        await lifecycle.accept_request(store, clinician, record.id, now_ms=at + M)
        await lifecycle.file_outcome(
            store, settings, clinician, record.id, outcome, now_ms=at + 2 * M
        )
        expected.add(record.id)
    supervisor = await sign_in("supervisor")
    async with supervisor.client.get(EXPORT, params={"window": "24h"}) as r:
        resources = parse(await r.text())
    assert set(by_type(resources, "Encounter")) == expected
    assert len(by_type(resources, "ServiceRequest")) == 130 and len(resources) == 260


@pytest.mark.parametrize("role", ["officer", "clinician"])
async def test_fhir_export_is_for_supervisors_only(sign_in: SignInFactory, role: str) -> None:
    """Officers and clinicians get 403, never the export."""
    user = await sign_in(role)
    status, body = await user.get(EXPORT)
    assert status == 403 and body["error"]["code"] == "forbidden"


async def test_fhir_export_not_signed_in_and_documented(anonymous: ApiClient) -> None:
    """Without a session the export is a 401; the OpenAPI document lists it."""
    status, _ = await anonymous.get(EXPORT)
    assert status == 401
    status, body = await anonymous.get("/api/v1/openapi.json")
    assert status == 200 and "get" in body["paths"][EXPORT]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-02T00:00:00Z", "to"),
        ("to=2026-03-02T00:00:00Z", "from"),
        ("from=yesterday&to=2026-03-02T00:00:00Z", "from"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
        ("from=2025-01-01T00:00:00Z&to=2026-03-02T00:00:00Z", "to"),
        ("window=5y", "window"),
    ],
)
async def test_fhir_export_rejects_a_bad_window(
    sign_in: SignInFactory, query: str, field: str
) -> None:
    """A bad window is a 422 naming the field, before any resource."""
    supervisor = await sign_in("supervisor")
    status, body = await supervisor.get(f"{EXPORT}?{query}")
    assert status == 422 and field in body["error"]["fields"]


async def test_fhir_export_is_audited(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Each FHIR export is logged with its window, as a FHIR export."""
    supervisor = await sign_in("supervisor")
    status, _ = await supervisor.get(f"{EXPORT}?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z")
    assert status == 200
    entries = await read_stream(redis_client, key_prefix + "audit")
    assert entries[-1]["action"] == "export_fhir"
    assert entries[-1]["detail"] == "2026-03-01T00:00:00.000Z/2026-03-02T00:00:00.000Z"
