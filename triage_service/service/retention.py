"""Retention: after `retention_days`, purge identifying fields; counts and codes stay."""

from __future__ import annotations

import json
from typing import Any

from triage_service.store.store import Store

BATCH = 100
FORM_FIELDS = {"incident_ref": "", "notes": "", "capacity_note": None}
LOCATION_FIELDS = {"description": "(purged)", "lat": None, "lon": None}
# The person's identifiers go; the person key that links their requests stays (a keyed hash:
# pseudonymous, see docs/previous-contacts.md).
SUBJECT_FIELDS = {"known_name": None, "chi": None, "date_of_birth": None}
OUTCOME_FIELDS = {"summary": "", "advice_to_officer": ""}
PLACE_FIELDS = {
    "person_name": None,
    "person_address": None,
    "circumstances": None,
    "police_station_reason": None,
}


def purge_form(form: dict[str, Any]) -> dict[str, Any]:
    """The request form without names, identifiers, free text or coordinates."""
    location = {**form["location"], **LOCATION_FIELDS}
    subject = {**form["subject"], **SUBJECT_FIELDS}
    return {**form, **FORM_FIELDS, "location": location, "subject": subject}


def purge_outcome(outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome without clinical free text, personal details or contacts."""
    purged = {**outcome, **OUTCOME_FIELDS}
    if purged.get("override_reason"):
        purged["override_reason"] = "(free text purged)"
    if purged.get("place_of_safety"):
        purged["place_of_safety"] = {**purged["place_of_safety"], **PLACE_FIELDS}
    if purged.get("referral"):
        purged["referral"] = {**purged["referral"], "contact": None}
    return purged


def purge_transfers(transfers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hand-overs without their notes (free text); who handed to whom, and when, stay."""
    return [{**step, "note": ""} for step in transfers]


async def purge_due(store: Store, *, retention_days: int, now_ms: int) -> int:
    """Purge requests created more than `retention_days` ago; each purge is audited.

    A cursor (the creation time of the last purged request) makes each sweep start where
    the last one stopped.
    """
    cutoff = now_ms - retention_days * 86_400_000
    cursor = await store.retention.cursor() or "-inf"
    rows = await store.requests.created_between(f"({cursor}", cutoff, skip=0, count=BATCH)
    purged = 0
    for request_id, created_ms in rows:
        form, outcome, referral_id, transfers = await store.retention.identifying(request_id)
        await store.retention.purge(
            request_id,
            form=json.dumps(purge_form(json.loads(form))) if form else None,
            outcome=json.dumps(purge_outcome(json.loads(outcome))) if outcome else None,
            referral_id=referral_id,
            transfers=json.dumps(purge_transfers(json.loads(transfers))) if transfers else None,
            created_ms=int(created_ms),
            now_ms=now_ms,
            audit={
                "user": "system",
                "role": "system",
                "action": "purge",
                "record": request_id,
                "at": now_ms,
            },
        )
        purged += 1
    return purged
