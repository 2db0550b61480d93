"""Idempotency-Key on every state change (POST, and PATCH of a referral): a retry gets the
first answer, never a second change, and a key used for another change is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    REQUEST_FORM,
    ApiClient,
    SignInFactory,
    in_session,
    new_request,
    read_events,
)
from support.sockets import connect, signed_in_on
from triage_service.domain.idempotency import Idempotency, scope_of
from triage_service.domain.times import to_datetime
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.store import NotReplicated
from triage_service.web.app import create_app


def key(value: str) -> dict[str, str]:
    """The header of one idempotency key."""
    return {"Idempotency-Key": value}


async def events_of(redis: aioredis.Redis, prefix: str, kind: str, request_id: str) -> int:
    """How many events of `kind` the request has."""
    found = await read_events(redis, prefix)
    return sum(1 for e in found if e["type"] == kind and e["request_id"] == request_id)


async def test_accept_retried_after_a_lost_answer_is_the_same_session(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """The first accept's answer lost, the retry with its key is 200 with the same session
    (not 409), and only one acceptance happened."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    path = f"/api/v1/requests/{rid}/accept"
    status, first = await clinician.post(path, headers=key("accept-1"))
    assert status == 200, first
    status, again = await clinician.post(path, headers=key("accept-1"))
    assert status == 200, again
    assert again["id"] == rid and again["status"] == "in_session"
    assert again["clinician"]["id"] == clinician.user.id
    assert again["accepted_at"] == first["accepted_at"]
    assert await events_of(redis_client, key_prefix, "accepted", rid) == 1


async def test_accept_with_another_key_is_409_as_before(sign_in: SignInFactory) -> None:
    """A second accept with a different key (or none) is a new attempt: 409 already_assigned."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    path = f"/api/v1/requests/{rid}/accept"
    assert (await clinician.post(path, headers=key("first")))[0] == 200
    status, body = await clinician.post(path, headers=key("second"))
    assert status == 409 and body["error"]["code"] == "already_assigned"
    status, body = await clinician.post(path)
    assert status == 409 and body["error"]["code"] == "already_assigned"


async def test_concurrent_retries_of_one_accept_make_one_change(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Five simultaneous accepts with one key all answer 200 with the one session."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    path = f"/api/v1/requests/{rid}/accept"
    answers = await asyncio.gather(*(clinician.post(path, headers=key("tap")) for _ in range(5)))
    assert {status for status, _ in answers} == {200}
    assert {body["accepted_at"] for _, body in answers} == {answers[0][1]["accepted_at"]}
    assert await events_of(redis_client, key_prefix, "accepted", rid) == 1


async def test_take_next_retried_takes_no_second_request(sign_in: SignInFactory) -> None:
    """`queue/next` repeated with its key answers the request it took; the next one waits
    (for another clinician: this one is in a session)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    colleague = await sign_in("clinician")
    first = await new_request(officer)
    second = await new_request(officer)
    status, took = await clinician.post("/api/v1/queue/next", headers=key("next-1"))
    assert status == 200 and took["id"] == first["id"]
    status, again = await clinician.post("/api/v1/queue/next", headers=key("next-1"))
    assert status == 200 and again["id"] == first["id"]
    _, queue = await clinician.get("/api/v1/queue")
    assert [item["id"] for item in queue["waiting"]] == [second["id"]]
    status, other = await colleague.post("/api/v1/queue/next", headers=key("next-2"))
    assert status == 200 and other["id"] == second["id"]


async def test_release_retried_releases_once(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A repeated release is 200 with the request as it now stands, and one release event."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    path, body = f"/api/v1/requests/{rid}/release", {"reason": "handover"}
    assert (await clinician.post(path, body, headers=key("rel")))[0] == 200
    status, again = await clinician.post(path, body, headers=key("rel"))
    assert status == 200 and again["status"] == "waiting"
    assert await events_of(redis_client, key_prefix, "released", rid) == 1


async def test_cancel_retried_is_200_not_409(sign_in: SignInFactory) -> None:
    """A repeated cancel answers the cancelled request again instead of 409 not_waiting."""
    officer = await sign_in("officer")
    rid = (await new_request(officer))["id"]
    path = f"/api/v1/requests/{rid}/cancel"
    assert (await officer.post(path, headers=key("cancel")))[0] == 200
    status, again = await officer.post(path, headers=key("cancel"))
    assert status == 200 and again["status"] == "cancelled"
    status, body = await officer.post(path)
    assert status == 409 and body["error"]["code"] == "not_waiting"


async def test_message_retried_is_stored_once(sign_in: SignInFactory) -> None:
    """A message sent twice with one key is 201 both times with the same message, kept once."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{rid}/messages"
    status, first = await officer.post(path, {"text": "On scene now"}, headers=key("m-1"))
    assert status == 201, first
    status, again = await officer.post(path, {"text": "On scene now"}, headers=key("m-1"))
    assert status == 201 and again == first
    _, chat = await clinician.get(path)
    assert [m["id"] for m in chat["messages"] if m["author"]["role"] != "system"] == [first["id"]]


async def test_message_retried_after_the_chat_closed_still_answers(
    sign_in: SignInFactory,
) -> None:
    """The retry of a message that was stored answers 201 even once the request completed."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{rid}/messages"
    _, first = await officer.post(path, {"text": "Still here"}, headers=key("m-late"))
    assert (await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM))[0] == 201
    status, again = await officer.post(path, {"text": "Still here"}, headers=key("m-late"))
    assert status == 201 and again == first
    status, body = await officer.post(path, {"text": "Still here"}, headers=key("m-new"))
    assert status == 409 and body["error"]["code"] == "request_closed"


async def test_outcome_retried_files_once(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A repeated outcome is 201 with the same request, outcome and referral; one filing."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    path = f"/api/v1/requests/{rid}/outcome"
    status, first = await clinician.post(path, OUTCOME_FORM, headers=key("out"))
    assert status == 201, first
    status, again = await clinician.post(path, OUTCOME_FORM, headers=key("out"))
    assert status == 201, again
    assert again["referral"]["id"] == first["referral"]["id"]
    assert again["request"]["completed_at"] == first["request"]["completed_at"]
    assert again["outcome"] == first["outcome"]
    assert await events_of(redis_client, key_prefix, "completed", rid) == 1
    assert await events_of(redis_client, key_prefix, "referral_opened", rid) == 1


async def test_key_reused_for_another_change_is_422(sign_in: SignInFactory) -> None:
    """One key sent with another path, another body or another kind of change is refused."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    one, two = await new_request(officer), await new_request(officer)
    assert (await clinician.post(f"/api/v1/requests/{one['id']}/accept", headers=key("k")))[
        0
    ] == 200
    cases: list[tuple[ApiClient, str, Any]] = [
        (clinician, f"/api/v1/requests/{two['id']}/accept", None),
        (clinician, "/api/v1/queue/next", None),
        (clinician, f"/api/v1/requests/{one['id']}/release", {"reason": "x"}),
    ]
    msgs = f"/api/v1/requests/{one['id']}/messages"
    assert (await officer.post(msgs, {"text": "first"}, headers=key("m")))[0] == 201
    cases.append((officer, msgs, {"text": "another text"}))
    cases.append((officer, f"/api/v1/requests/{two['id']}/cancel", None))
    cases.append((officer, "/api/v1/requests", REQUEST_FORM))
    for client, path, body in cases:
        sent = "k" if client is clinician else "m"
        status, answer = await client.post(path, body, headers=key(sent))
        assert status == 422, (path, answer)
        assert answer["error"]["code"] == "idempotency_key_reused"
        assert "Idempotency-Key" in answer["error"]["fields"]
    _, still = await officer.get(f"/api/v1/requests/{two['id']}")
    assert still["status"] == "waiting"


async def test_create_key_is_not_reused_for_a_cancel(sign_in: SignInFactory) -> None:
    """The key that created a request cannot also cancel it: 422, the request waits on."""
    officer = await sign_in("officer")
    _, made = await officer.post("/api/v1/requests", REQUEST_FORM, headers=key("make"))
    status, answer = await officer.post(
        f"/api/v1/requests/{made['id']}/cancel", headers=key("make")
    )
    assert status == 422 and answer["error"]["code"] == "idempotency_key_reused"
    _, still = await officer.get(f"/api/v1/requests/{made['id']}")
    assert still["status"] == "waiting"


async def test_keys_are_per_user(sign_in: SignInFactory) -> None:
    """Another clinician's identical key is theirs alone: their accept is a new attempt."""
    officer = await sign_in("officer")
    one, other = await sign_in("clinician"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    path = f"/api/v1/requests/{rid}/accept"
    assert (await one.post(path, headers=key("same")))[0] == 200
    status, body = await other.post(path, headers=key("same"))
    assert status == 409 and body["error"]["code"] == "already_assigned"


@pytest.mark.parametrize("bad", ["", "k" * 129, "clé-unicode", "tab\there"])
async def test_bad_key_on_any_change_is_422(sign_in: SignInFactory, bad: str) -> None:
    """An empty, over-long, non-ASCII or unprintable key is a 422 naming the header, and
    nothing changes."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    for client, path in [
        (clinician, f"/api/v1/requests/{rid}/accept"),
        (clinician, "/api/v1/queue/next"),
        (officer, f"/api/v1/requests/{rid}/cancel"),
    ]:
        status, body = await client.post(path, headers=key(bad))
        assert status == 422, (path, body)
        assert "Idempotency-Key" in body["error"]["fields"]
    _, still = await officer.get(f"/api/v1/requests/{rid}")
    assert still["status"] == "waiting"


async def test_change_answered_not_replicated_is_kept_for_the_retry(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """An accept made but refused for want of replicas (the 503 case) is recorded with its
    key in the same step: the retry answers that acceptance instead of 409."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await new_request(officer))["id"]
    user = clinician.user
    change = Idempotency(user.id, "wait-lost", scope_of("POST", f"/x/{rid}/accept", ""))
    strict = Store(redis_client, key_prefix, min_replicas=1, wait_ms=10)
    with pytest.raises(NotReplicated):
        await strict.run("accept", 1, rid, user.id, user.display_name, idempotency=change)
    stored = json.loads(await redis_client.get(f"{key_prefix}idem:{user.id}:wait-lost") or "{}")
    assert stored == {"scope": change.scope, "result": rid}
    store = Store(redis_client, key_prefix)
    again = await store.run("accept", 2, rid, user.id, user.display_name, idempotency=change)
    assert again["repeated"] and again["record"]["clinician_id"] == user.id
    assert await events_of(redis_client, key_prefix, "accepted", rid) == 1


async def test_openapi_documents_the_key_on_every_change(sign_in: SignInFactory) -> None:
    """Each change that honours an Idempotency-Key declares the optional header and its 422."""
    status, document = await (await sign_in("officer")).get("/api/v1/openapi.json")
    assert status == 200
    for method, path in (
        ("post", "/api/v1/requests"),
        ("post", "/api/v1/requests/{id}/cancel"),
        ("post", "/api/v1/requests/{id}/accept"),
        ("post", "/api/v1/queue/next"),
        ("post", "/api/v1/requests/{id}/release"),
        ("post", "/api/v1/requests/{id}/messages"),
        ("post", "/api/v1/requests/{id}/outcome"),
        ("patch", "/api/v1/referrals/{id}"),
        ("post", "/api/v1/alarms/{id}/ack"),
        ("post", "/api/v1/alarms/ack"),
        ("post", "/api/v1/requests/{id}/feedback"),
    ):
        operation = document["paths"][path][method]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert not headers[0]["required"] and "422" in operation["responses"], path


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[TestServer]:
    """An instance that requires one replica of a Redis that has none: each change is made,
    then answered 503 (`WAIT` says 0), as a change whose answer is lost."""
    server = TestServer(create_app(replace(settings, redis_min_replicas=1, redis_wait_ms=20)))
    await server.start_server()
    yield server
    await server.close()


async def answer_lost(
    strict: TestServer, api: ApiClient, method: str, path: str, body: Any
) -> None:
    """Send the change through the strict instance: it is made, but answered 503."""
    on_strict = await signed_in_on(strict, api)
    try:
        status, answer = await on_strict.call(method, path, body, headers=key("lost-once"))
        assert status == 503, answer
    finally:
        await on_strict.client.close()


async def test_referral_update_retried_after_a_lost_answer_is_not_409(
    sign_in: SignInFactory, strict: TestServer, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """PATCH of a referral made but answered 503: the retry with its key answers the referral
    as the change left it (200, not 409 referral_closed), one change was made; another key is
    409 as before, and the key with another body is 422 idempotency_key_reused."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, filed = await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    path = f"/api/v1/referrals/{filed['referral']['id']}"
    body = {"status": "completed", "note": "seen at home"}
    await answer_lost(strict, clinician, "PATCH", path, body)
    status, again = await clinician.call("PATCH", path, body, headers=key("lost-once"))
    assert status == 200, again
    assert again["status"] == "completed" and again["note"] == "seen at home"
    assert await events_of(redis_client, key_prefix, "referral_completed", rid) == 1
    status, other = await clinician.call("PATCH", path, body, headers=key("another"))
    assert status == 409 and other["error"]["code"] == "referral_closed"
    status, reused = await clinician.call(
        "PATCH", path, {"status": "cancelled"}, headers=key("lost-once")
    )
    assert status == 422 and reused["error"]["code"] == "idempotency_key_reused"


async def test_alarm_acknowledgement_retried_after_a_lost_answer_is_not_409(
    sign_in: SignInFactory, strict: TestServer
) -> None:
    """An acknowledgement made but answered 503: the retry with its key is 200 with the same
    acknowledgement (time, note, who), not 409 already_acknowledged; another key is 409."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    socket = await connect(supervisor)  # before the alarm can be raised, so it hears it
    await new_request(officer)  # nobody on duty: an alarm at the next sweep
    raised = (await socket.wait_for("alarm", timeout=10))["alarm"]
    await socket.close()
    path = f"/api/v1/alarms/{raised['id']}/ack"
    await answer_lost(strict, supervisor, "POST", path, {"note": "rang the rota"})
    status, again = await supervisor.post(path, {"note": "rang the rota"}, headers=key("lost-once"))
    assert status == 200, again
    assert again["note"] == "rang the rota" and again["acknowledged_by"]["id"] == supervisor.user.id
    _, listed = await supervisor.get("/api/v1/alarms?status=all")
    first = next(a for a in listed["alarms"] if a["id"] == raised["id"])
    assert again["acknowledged_at"] == first["acknowledged_at"]
    status, other = await supervisor.post(path, {"note": "rang"}, headers=key("another"))
    assert status == 409 and other["error"]["code"] == "already_acknowledged"


async def test_feedback_retried_after_a_lost_answer_is_not_409(
    sign_in: SignInFactory, strict: TestServer, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """Feedback recorded but answered 503: the retry with its key is 201 with the first
    rating and its time, not 409 feedback_given, and it is counted once."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    path = f"/api/v1/requests/{rid}/feedback"
    body = {"useful": 5, "time_saved_min": 90}
    await answer_lost(strict, officer, "POST", path, body)
    stored_at = await redis_client.hget(f"{key_prefix}req:{rid}", "feedback_ms")
    status, again = await officer.post(path, body, headers=key("lost-once"))
    assert status == 201, again
    assert again["useful"] == 5 and again["time_saved_min"] == 90
    assert datetime.fromisoformat(again["given_at"]) == to_datetime(int(stored_at or 0))
    assert await events_of(redis_client, key_prefix, "feedback", rid) == 1
    status, other = await officer.post(path, body, headers=key("another"))
    assert status == 409 and other["error"]["code"] == "feedback_given"
