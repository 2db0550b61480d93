"""Concurrent transitions: each atomic step has exactly one winner, whatever the interleaving."""

from __future__ import annotations

import asyncio
from collections import Counter

import redis.asyncio as aioredis

from conftest import (
    OUTCOME_FORM,
    REQUEST_FORM,
    ApiClient,
    SignInFactory,
    in_session,
    new_request,
    read_events,
)


async def clinicians(sign_in: SignInFactory, n: int) -> list[ApiClient]:
    """`n` clinicians signed in concurrently."""
    return list(await asyncio.gather(*(sign_in("clinician") for _ in range(n))))


async def test_fifty_accepts_have_one_winner(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """50 clinicians accepting one request at once: exactly one 200 and 49 409s."""
    officer = await sign_in("officer")
    staff = await clinicians(sign_in, 50)
    created = await new_request(officer)
    path = f"/api/v1/requests/{created['id']}/accept"
    results = await asyncio.gather(*(c.post(path) for c in staff))
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: 49}, statuses
    [(winner, body)] = [(c, b) for c, (s, b) in zip(staff, results, strict=True) if s == 200]
    assert body["clinician"]["id"] == winner.user.id
    assert {b["error"]["code"] for s, b in results if s == 409} == {"already_assigned"}
    _, seen = await officer.get(f"/api/v1/requests/{created['id']}")
    assert seen["status"] == "in_session" and seen["clinician"]["id"] == winner.user.id
    busy = [c for c in staff if (await c.get("/api/v1/availability"))[1]["status"] == "busy"]
    assert busy == [winner]
    accepted = [e for e in await read_events(redis_client, key_prefix) if e["type"] == "accepted"]
    assert [e["actor"] for e in accepted] == [winner.user.id]
    assert await redis_client.zcard(key_prefix + "queue") == 0


async def test_ten_takes_of_next_share_ten_requests(sign_in: SignInFactory) -> None:
    """10 clinicians calling queue/next at once on 10 requests each get a different one."""
    officer = await sign_in("officer")
    staff = await clinicians(sign_in, 10)
    created = {(await new_request(officer))["id"] for _ in range(10)}
    results = await asyncio.gather(*(c.post("/api/v1/queue/next") for c in staff))
    assert [status for status, _ in results] == [200] * 10, results
    taken = [body["id"] for _, body in results]
    assert len(set(taken)) == 10 and set(taken) == created
    for clinician, (_, body) in zip(staff, results, strict=True):
        assert body["clinician"]["id"] == clinician.user.id
    status, queue = await staff[0].get("/api/v1/queue")
    assert queue["waiting"] == []
    status, body = await (await sign_in("clinician")).post("/api/v1/queue/next")
    assert status == 404 and body["error"]["code"] == "queue_empty"


async def test_more_takers_than_requests(sign_in: SignInFactory) -> None:
    """12 clinicians racing for 4 requests: 4 get one each, 8 are told the queue is empty."""
    officer = await sign_in("officer")
    staff = await clinicians(sign_in, 12)
    created = {(await new_request(officer))["id"] for _ in range(4)}
    results = await asyncio.gather(*(c.post("/api/v1/queue/next") for c in staff))
    assert Counter(s for s, _ in results) == {200: 4, 404: 8}
    assert {b["id"] for s, b in results if s == 200} == created


async def test_cancel_and_accept_race(sign_in: SignInFactory) -> None:
    """An officer cancelling while a clinician accepts: exactly one of them succeeds."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    for _ in range(10):
        created = await new_request(officer)
        rid = created["id"]
        (cancel, _), (accept, _) = await asyncio.gather(
            officer.post(f"/api/v1/requests/{rid}/cancel"),
            clinician.post(f"/api/v1/requests/{rid}/accept"),
        )
        assert sorted([cancel, accept]) == [200, 409]
        _, seen = await officer.get(f"/api/v1/requests/{rid}")
        assert seen["status"] == ("cancelled" if cancel == 200 else "in_session")
        if accept == 200:
            await clinician.post(f"/api/v1/requests/{rid}/release", {})
            await officer.post(f"/api/v1/requests/{rid}/cancel")


async def test_concurrent_idempotent_creates(sign_in: SignInFactory) -> None:
    """Ten retries of one create with the same key at once make one request."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    key = {"Idempotency-Key": "double-tap"}
    results = await asyncio.gather(
        *(officer.post("/api/v1/requests", REQUEST_FORM, headers=key) for _ in range(10))
    )
    assert Counter(s for s, _ in results) == {201: 1, 200: 9}
    assert len({b["id"] for _, b in results}) == 1
    _, queue = await clinician.get("/api/v1/queue")
    assert len(queue["waiting"]) == 1


async def test_outcome_filed_once_under_concurrency(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Five simultaneous outcome submissions file one outcome and open one referral."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    path = f"/api/v1/requests/{request['id']}/outcome"
    results = await asyncio.gather(*(clinician.post(path, OUTCOME_FORM) for _ in range(5)))
    assert Counter(s for s, _ in results) == {201: 1, 409: 4}
    _, referrals = await clinician.get("/api/v1/referrals?status=all")
    assert len(referrals["referrals"]) == 1
    kinds = Counter(e["type"] for e in await read_events(redis_client, key_prefix))
    assert kinds["completed"] == 1 and kinds["referral_opened"] == 1


async def test_release_and_outcome_race(sign_in: SignInFactory) -> None:
    """Releasing while filing the outcome: one wins and the record matches the winner."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    for _ in range(5):
        request = await in_session(officer, clinician)
        rid = request["id"]
        (release, _), (outcome, _) = await asyncio.gather(
            clinician.post(f"/api/v1/requests/{rid}/release", {"reason": "x"}),
            clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM),
        )
        assert sorted([release, outcome]) in ([200, 409], [201, 409]), (release, outcome)
        _, seen = await officer.get(f"/api/v1/requests/{rid}")
        assert seen["status"] == ("waiting" if release == 200 else "completed")
        if release == 200:
            await officer.post(f"/api/v1/requests/{rid}/cancel")
        _, availability = await clinician.get("/api/v1/availability")
        assert availability["status"] == "available"
