"""Officer feedback: once per completed assessment, range-checked, counted in the stats and
the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io

import redis.asyncio as aioredis

from conftest import OUTCOME_FORM, SignInFactory, in_session


async def test_feedback_once_after_completion(sign_in: SignInFactory) -> None:
    """Before completion 409; then 201; a second rating 409 `feedback_given`; only the owner
    officer may rate (another officer 404, a clinician 403)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/feedback"
    status, body = await officer.post(path, {"useful": 4})
    assert status == 409 and body["error"]["code"] == "not_completed"
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert (await (await sign_in("officer")).post(path, {"useful": 4}))[0] == 404
    assert (await clinician.post(path, {"useful": 4}))[0] == 403
    status, body = await officer.post(path, {"useful": 4, "time_saved_min": 45, "comment": "Calm"})
    assert status == 201, body
    assert body["useful"] == 4 and body["time_saved_min"] == 45
    status, body = await officer.post(path, {"useful": 5})
    assert status == 409 and body["error"]["code"] == "feedback_given"
    _, record = await officer.get(f"/api/v1/requests/{request['id']}")
    assert record["feedback_given"] is True


async def test_feedback_is_range_checked(sign_in: SignInFactory) -> None:
    """useful 1..5, time_saved_min 0..600, comment at most 1000 characters: else 422 naming
    the field."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    path = f"/api/v1/requests/{request['id']}/feedback"
    for body, field in (
        ({"useful": 0}, "useful"),
        ({"useful": 6}, "useful"),
        ({}, "useful"),
        ({"useful": "very"}, "useful"),
        ({"useful": 3, "time_saved_min": -1}, "time_saved_min"),
        ({"useful": 3, "time_saved_min": 601}, "time_saved_min"),
        ({"useful": 3, "comment": "x" * 1001}, "comment"),
    ):
        status, answer = await officer.post(path, body)
        assert status == 422 and field in answer["error"]["fields"], (body, answer)
    assert (await officer.post(path, {"useful": 1, "time_saved_min": 600}))[0] == 201


async def test_feedback_is_counted_once_under_a_race(sign_in: SignInFactory) -> None:
    """Two ratings sent at once: one 201, one 409, and the stats count one rating; the mean
    and the CSV's `useful` follow."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor = await sign_in("supervisor")
    ratings = []
    for useful in (2, 5):
        request = await in_session(officer, clinician)
        await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
        path = f"/api/v1/requests/{request['id']}/feedback"
        results = await asyncio.gather(
            officer.post(path, {"useful": useful}), officer.post(path, {"useful": useful})
        )
        assert sorted(status for status, _ in results) == [201, 409]
        ratings.append((request["id"], useful))
    _, stats = await supervisor.get("/api/v1/stats?window=1h")
    assert stats["window"]["feedback"]["count"] == 2
    assert stats["window"]["feedback"]["mean_useful"] == 3.5
    assert stats["feedback"] == stats["window"]["feedback"]
    async with supervisor.client.get("/api/v1/stats/export.csv?window=1h") as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert {r["request_id"]: r["useful"] for r in rows} == {rid: str(n) for rid, n in ratings}


async def test_feedback_keeps_the_counterfactual(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """The officer may say what they would otherwise have done (one of six values, else 422
    naming `counterfactual`); it is answered back and kept on the record for the report."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    path = f"/api/v1/requests/{request['id']}/feedback"
    status, answer = await officer.post(path, {"useful": 4, "counterfactual": "hospital"})
    assert status == 422 and "counterfactual" in answer["error"]["fields"], answer
    status, answer = await officer.post(path, {"useful": 4, "counterfactual": "ed_conveyance"})
    assert status == 201 and answer["counterfactual"] == "ed_conveyance", answer
    stored = await redis_client.hget(f"{key_prefix}req:{request['id']}", "counterfactual")
    assert stored == "ed_conveyance"
