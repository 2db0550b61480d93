"""Retention: after `retention_days`, purge identifying fields; counts and codes stay."""

from __future__ import annotations

import json
from typing import Any

from triage_service.store.store import Store

BATCH = 100
FORM_FIELDS = {"incident_ref": "", "notes": ""}
LOCATION_FIELDS = {"description": "(purged)", "lat": None, "lon": None}
OUTCOME_FIELDS = {"summary": "", "advice_to_officer": ""}
PLACE_FIELDS = {
    "person_name": None,
    "person_address": None,
    "circumstances": None,
    "police_station_reason": None,
}


def purge_form(form: dict[str, Any]) -> dict[str, Any]:
    """The request form without names, free text or coordinates."""
    location = {**form["location"], **LOCATION_FIELDS}
    subject = {**form["subject"], "known_name": None}
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


async def purge_due(store: Store, *, retention_days: int, now_ms: int) -> int:
    """Purge requests created more than `retention_days` ago; each purge is audited.

    A cursor (the creation time of the last purged request) makes each sweep start where
    the last one stopped.
    """
    keys = store.keys
    cutoff = now_ms - retention_days * 86_400_000
    cursor = await store.client.get(keys("retention:cursor")) or "-inf"
    rows = await store.client.zrangebyscore(
        keys("reqs:created"), f"({cursor}", cutoff, start=0, num=BATCH, withscores=True
    )
    purged = 0
    for request_id, created_ms in rows:
        record = await store.client.hmget(
            keys.request(request_id), "form", "outcome", "referral_id"
        )
        form, outcome, referral_id = record
        async with store.client.pipeline(transaction=True) as pipe:
            if form:
                pipe.hset(
                    keys.request(request_id),
                    mapping={"form": json.dumps(purge_form(json.loads(form))), "purged_ms": now_ms},
                )
            if outcome:
                pipe.hset(
                    keys.request(request_id),
                    "outcome",
                    json.dumps(purge_outcome(json.loads(outcome))),
                )
            if referral_id:
                pipe.hset(keys.referral(referral_id), mapping={"contact": "", "note": ""})
            pipe.delete(keys.messages(request_id))
            pipe.set(keys("retention:cursor"), int(created_ms))
            pipe.xadd(
                keys("audit"),
                {
                    "user": "system",
                    "role": "system",
                    "action": "purge",
                    "record": request_id,
                    "at": now_ms,
                },
            )
            await pipe.execute()
        purged += 1
    return purged
