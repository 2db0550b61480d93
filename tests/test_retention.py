"""Retention: identifying fields are purged after the configured days; codes stay."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, REQUEST_FORM, SignInFactory
from triage_service.service.retention import purge_due
from triage_service.web.state import CLOCK, STORE


async def test_purge_removes_identifying_fields_and_is_audited(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """Past retention, names, free text, coordinates and chat go; codes and counts stay."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "my name is Jane"})
    await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    store, now = server.app[STORE], server.app[CLOCK]()

    assert await purge_due(store, retention_days=1, now_ms=now) == 0
    assert await purge_due(store, retention_days=1, now_ms=now + 2 * 86_400_000) == 1
    assert await purge_due(store, retention_days=1, now_ms=now + 2 * 86_400_000) == 0

    status, record = await clinician.get(f"/api/v1/requests/{rid}")
    assert status == 200
    text = json.dumps(record)
    for value in (
        "Jane",
        "Buchanan",
        "55.86",
        "PS-20261126",
        "Sitting on the platform",
        "Safety plan agreed",
        "crisis team arrives",
    ):
        assert value not in text
    assert record["outcome"]["triage_code"] == "C"
    assert record["outcome"]["disposition"] == "urgent_face_to_face"
    assert record["location"]["area"] == "Glasgow City Centre"
    assert await store.client.llen(store.keys.messages(rid)) == 0
    audit = await store.client.xrange(store.keys("audit")) or []
    assert any(e and e["action"] == "purge" and e["record"] == rid for _, e in audit)
