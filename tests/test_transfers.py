"""Transfer to a named colleague on duty: the offer, its answer or its lapse after 60 s, who
may do what, and the hand-over as one atomic step that ends the first clinician's access as
a release does."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import (
    OUTCOME_FORM,
    ApiClient,
    FakeClock,
    SignInFactory,
    create_account,
    in_session,
    log_in,
    new_request,
    read_events,
    read_stream,
    wait_until,
)
from support.sockets import Socket, connect
from triage_service.domain.codes import Role
from triage_service.domain.transfers import OFFER_S
from triage_service.service.retention import purge_due
from triage_service.web.state import CLOCK, STORE

pytestmark = pytest.mark.settings(sweep_interval_s=0.05)


@contextlib.asynccontextmanager
async def duty(clinician: ApiClient) -> AsyncIterator[Socket]:
    """`clinician` on duty (available, a live socket) for the block; the socket collects
    what they are told."""
    socket = await connect(clinician)
    status, _ = await clinician.call("PUT", "/api/v1/availability", {"status": "available"})
    assert status == 200
    try:
        yield socket
    finally:
        await socket.close()


async def offer(a: ApiClient, request_id: str, to: str, note: str = "") -> tuple[int, Any]:
    """A's offer of the request to user `to`."""
    return await a.post(f"/api/v1/requests/{request_id}/transfer", {"to": to, "note": note})


async def availability(clinician: ApiClient) -> str:
    """The clinician's availability now."""
    _, body = await clinician.get("/api/v1/availability")
    return str(body["status"])


async def sessions_of(clinician: ApiClient) -> set[str]:
    """The requests the store holds the clinician in session with."""
    store = cast(TestServer, clinician.client.server).app[STORE]
    return await store.clinicians.in_session(clinician.user.id)


async def test_transfer_hands_the_call_to_the_colleague(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """A offers the session to B; B is told (summary, from whom, note, expiry) and accepts;
    B is then the assigned clinician (busy), the officer is told the new clinician, A is
    free again with read-only access as after a release, and the record, chat and audit
    name both clinicians."""
    officer = await sign_in("officer")
    a = await sign_in("clinician", display_name="Nurse Adams")
    b = await sign_in("clinician", display_name="Dr Brown")
    officer_socket = await connect(officer)
    async with duty(a) as a_socket, duty(b) as b_socket:
        request = await in_session(officer, a)
        rid = request["id"]
        status, body = await offer(a, rid, b.user.id, "CAMHS: she is 15")
        assert status == 202, body
        assert body["clinician"]["id"] == a.user.id
        assert body["transfer"]["offered_to"] == {"id": b.user.id, "display_name": "Dr Brown"}
        told = await b_socket.wait_for("transfer.offered", request_id=rid)
        assert told["offered_by"] == {"id": a.user.id, "display_name": "Nurse Adams"}
        assert told["note"] == "CAMHS: she is 15"
        assert told["request"]["concerns"] == request["concerns"]
        assert told["expires_at"] > told["offered_at"]
        _, offers = await b.get("/api/v1/transfers")
        assert [o["request_id"] for o in offers["offers"]] == [rid]
        _, seen = await officer.get(f"/api/v1/requests/{rid}")
        assert seen["transfer"] is None  # the officer hears of it once it is taken

        status, taken = await b.post(f"/api/v1/requests/{rid}/transfer/accept")
        assert status == 200, taken
        assert taken["clinician"]["id"] == b.user.id and taken["transfer"] is None
        assert [c["display_name"] for c in taken["clinicians"]] == ["Nurse Adams", "Dr Brown"]
        assert taken["transfers"][0]["note"] == "CAMHS: she is 15"
        updated = await officer_socket.wait_for("request.updated", status="in_session")
        await wait_until(lambda: _names(officer_socket, b.user.id), timeout=3)
        ended = await a_socket.wait_for("transfer.accepted", request_id=rid)
        assert ended["offered_to"]["id"] == b.user.id
        assert updated["request"]["id"] == rid

        assert await availability(a) == "available" and await availability(b) == "busy"
        assert await sessions_of(a) == set() and await sessions_of(b) == {rid}
        status, past = await a.get(f"/api/v1/requests/{rid}")
        assert status == 200 and past["clinician"]["id"] == b.user.id  # read-only, as released
        status, _ = await a.post(f"/api/v1/requests/{rid}/messages", {"text": "still here?"})
        assert status == 404
        status, _ = await a.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
        assert status == 409
        status, _ = await offer(a, rid, b.user.id)
        assert status == 403
        _, chat = await b.get(f"/api/v1/requests/{rid}/messages")
        assert chat["messages"][-1]["author"]["role"] == "system"
        assert "Dr Brown" in chat["messages"][-1]["text"]
        status, filed = await b.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
        assert status == 201, filed
        async with b.client.get(f"/api/v1/requests/{rid}/handover") as response:
            assert response.status == 200
            assert "Nurse Adams → Dr Brown" in await response.text()

    audit = [
        e
        for e in await read_stream(redis_client, key_prefix + "audit")
        if e.get("request_id") == rid
    ]
    actions = [(e["action"], e["user_id"]) for e in audit if e["action"].startswith("transfer")]
    assert actions == [("transfer_offered", a.user.id), ("transfer_accepted", b.user.id)]
    admin = await sign_in("admin")
    _, shown = await admin.get(f"/api/v1/audit?request_id={rid}")
    taken = [e for e in shown["entries"] if e["action"] == "transfer_accepted"]
    assert [(e["user_id"], e["from"]) for e in taken] == [(b.user.id, a.user.id)]
    events = [e for e in await read_events(redis_client, key_prefix) if e["type"] == "transferred"]
    assert [(e["actor"], e["from"]) for e in events] == [(b.user.id, a.user.id)]
    await officer_socket.close()


async def _names(socket: Socket, clinician_id: str) -> bool:
    """Whether the officer has been told that `clinician_id` is their clinician now."""
    return any(
        m["type"] == "request.updated"
        and (m["request"].get("clinician") or {}).get("id") == clinician_id
        for m in socket.messages
    )


async def test_declined_offer_leaves_the_first_clinician(sign_in: SignInFactory) -> None:
    """B declines: A keeps the request and is told; a new offer may then be made."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a) as a_socket, duty(b):
        rid = (await in_session(officer, a))["id"]
        assert (await offer(a, rid, b.user.id))[0] == 202
        status, body = await b.post(f"/api/v1/requests/{rid}/transfer/decline")
        assert status == 200 and body == {"request_id": rid, "state": "declined"}
        told = await a_socket.wait_for("transfer.declined", request_id=rid)
        assert told["offered_to"]["id"] == b.user.id
        _, seen = await a.get(f"/api/v1/requests/{rid}")
        assert seen["clinician"]["id"] == a.user.id and seen["transfer"] is None
        assert seen["clinicians"] == [{"id": a.user.id, "display_name": a.user.display_name}]
        status, _ = await b.post(f"/api/v1/requests/{rid}/transfer/accept")
        assert status == 404
        assert (await offer(a, rid, b.user.id))[0] == 202


@pytest.mark.fake_clock
@pytest.mark.settings(sweep_interval_s=0.05, presence_lease_s=86400)
async def test_unanswered_offer_lapses_back_after_60_s(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Nobody answers: at 60 s the offer lapses, A keeps the request (never without a
    responsible clinician) and both are told; B can no longer take it."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a) as a_socket, duty(b) as b_socket:
        rid = (await in_session(officer, a))["id"]
        assert (await offer(a, rid, b.user.id))[0] == 202
        clock.advance(OFFER_S - 1)
        await asyncio.sleep(0.2)  # sweeps at the moved time: not due yet
        _, seen = await a.get(f"/api/v1/requests/{rid}")
        assert seen["transfer"] is not None
        clock.advance(1)
        await a_socket.wait_for("transfer.lapsed", request_id=rid)
        await b_socket.wait_for("transfer.lapsed", request_id=rid)
        _, seen = await a.get(f"/api/v1/requests/{rid}")
        assert seen["transfer"] is None and seen["clinician"]["id"] == a.user.id
        assert seen["status"] == "in_session"
        status, _ = await b.post(f"/api/v1/requests/{rid}/transfer/accept")
        assert status == 404
        _, offers = await b.get("/api/v1/transfers")
        assert offers == {"offers": []}


@pytest.mark.fake_clock
@pytest.mark.settings(sweep_interval_s=3600, presence_lease_s=86400)
async def test_offer_past_its_time_cannot_be_taken_before_the_sweep(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """An offer past 60 s is lapsed even before a sweep ends it: 409 `offer_lapsed`."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a), duty(b):
        rid = (await in_session(officer, a))["id"]
        assert (await offer(a, rid, b.user.id))[0] == 202
        clock.advance(OFFER_S)
        status, body = await b.post(f"/api/v1/requests/{rid}/transfer/accept")
        assert status == 409 and body["error"]["code"] == "offer_lapsed"
        assert (await offer(a, rid, b.user.id))[0] == 202  # a stale offer blocks nothing


async def test_who_may_transfer_and_to_whom(sign_in: SignInFactory) -> None:
    """Only the assigned clinician offers (officer 403, another clinician 403 or 404), only
    to a colleague on duty covering the board (422 on `to`), one offer at a time (409); only
    the offered colleague answers (404)."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    off_duty = await sign_in("clinician")
    elsewhere = await sign_in("clinician", boards="borders")
    async with duty(a), duty(b), duty(elsewhere):
        waiting = await new_request(officer, urgency="routine")
        status, body = await offer(b, waiting["id"], a.user.id)
        assert status == 403 and body["error"]["code"] == "not_assigned"
        rid = (await in_session(officer, a, urgency="routine"))["id"]
        assert (await offer(officer, rid, b.user.id))[0] == 403
        assert (await offer(b, rid, a.user.id))[0] == 404  # not theirs to see
        for to, why in [
            (off_duty.user.id, "not on duty"),
            (elsewhere.user.id, "does not cover"),
            (a.user.id, "yourself"),
            (officer.user.id, "No such clinician"),
            ("nobody", "No such clinician"),
        ]:
            status, body = await offer(a, rid, to)
            assert status == 422, (to, body)
            assert why in body["error"]["fields"]["to"]
        status, body = await a.post(f"/api/v1/requests/{rid}/transfer", {"note": "x"})
        assert status == 422 and "to" in body["error"]["fields"]
        assert (await offer(a, rid, b.user.id))[0] == 202
        status, body = await offer(a, rid, b.user.id)
        assert status == 409 and body["error"]["code"] == "transfer_pending"
        for stranger in (elsewhere, off_duty):
            assert (await stranger.post(f"/api/v1/requests/{rid}/transfer/accept"))[0] == 404
            assert (await stranger.post(f"/api/v1/requests/{rid}/transfer/decline"))[0] == 404
        _, colleagues = await a.get(f"/api/v1/requests/{rid}/transfer/colleagues")
        names = {c["id"] for c in colleagues["colleagues"]}
        assert b.user.id in names and not names & {a.user.id, off_duty.user.id, elsewhere.user.id}


async def test_racing_answers_give_one_hand_over(sign_in: SignInFactory) -> None:
    """Two accepts at once (two tabs), an accept racing a decline, and an accept racing the
    first clinician's outcome: exactly one wins each time and the sessions add up."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a), duty(b):
        rid = (await in_session(officer, a))["id"]
        assert (await offer(a, rid, b.user.id))[0] == 202
        path = f"/api/v1/requests/{rid}/transfer"
        results = await asyncio.gather(b.post(path + "/accept"), b.post(path + "/accept"))
        assert sorted(s for s, _ in results) == [200, 404]
        assert await sessions_of(b) == {rid} and await sessions_of(a) == set()

        assert (await offer(b, rid, a.user.id))[0] == 202  # and back again
        results = await asyncio.gather(a.post(path + "/accept"), a.post(path + "/decline"))
        assert sorted(s for s, _ in results) == [200, 404]
        holder = a if results[0][0] == 200 else b
        other = b if holder is a else a
        assert await sessions_of(holder) == {rid} and await sessions_of(other) == set()

        assert (await offer(holder, rid, other.user.id))[0] == 202
        outcome, taken = await asyncio.gather(
            holder.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM),
            other.post(path + "/accept"),
        )
        assert sorted([outcome[0], taken[0]]) in ([201, 409], [200, 409]), (outcome, taken)
        _, seen = await officer.get(f"/api/v1/requests/{rid}")
        if outcome[0] == 201:
            assert seen["status"] == "completed" and await sessions_of(other) == set()
        else:
            assert seen["clinician"]["id"] == other.user.id
            assert await sessions_of(other) == {rid} and await sessions_of(holder) == set()


async def test_a_transfer_crosses_instances(
    sign_in: SignInFactory, server: TestServer, second_server: TestServer
) -> None:
    """The first clinician on one instance, the colleague and the officer on another: the
    offer, the hand-over and the officer's news all cross (pub/sub wakes, Redis holds it)."""
    a = await sign_in("clinician")
    b = await log_in(second_server, await create_account(server.app, Role.CLINICIAN))
    officer = await log_in(second_server, await create_account(server.app, Role.OFFICER))
    officer_socket = await connect(officer)
    try:
        async with duty(a) as a_socket, duty(b) as b_socket:
            rid = (await in_session(officer, a))["id"]
            assert (await offer(a, rid, b.user.id))[0] == 202
            await b_socket.wait_for("transfer.offered", request_id=rid)
            assert (await b.post(f"/api/v1/requests/{rid}/transfer/accept"))[0] == 200
            await a_socket.wait_for("transfer.accepted", request_id=rid)
            await wait_until(lambda: _names(officer_socket, b.user.id), timeout=3)
    finally:
        await officer_socket.close()
        await b.client.close()
        await officer.client.close()


async def test_the_purge_keeps_who_took_over_but_not_the_note(sign_in: SignInFactory) -> None:
    """After the retention period a transfer's note (free text) is purged with the rest of
    the record's free text; who handed the call to whom, and when, stay."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a), duty(b):
        rid = (await in_session(officer, a))["id"]
        assert (await offer(a, rid, b.user.id, "Name is Jane Doe, 15"))[0] == 202
        assert (await b.post(f"/api/v1/requests/{rid}/transfer/accept"))[0] == 200
    app = cast(TestServer, a.client.server).app
    await purge_due(app[STORE], retention_days=1, now_ms=app[CLOCK]() + 2 * 86_400_000)
    _, seen = await b.get(f"/api/v1/requests/{rid}")
    [step] = seen["transfers"]
    assert step["note"] is None and "Jane" not in json.dumps(seen)
    assert (step["from_clinician"]["id"], step["to_clinician"]["id"]) == (a.user.id, b.user.id)


async def test_a_retried_step_with_its_key_gets_the_first_answer(sign_in: SignInFactory) -> None:
    """An offer or an accept sent again with the same Idempotency-Key (its answer was lost)
    answers as the first did (202, 200 with the colleague holding it), changing nothing."""
    officer, a, b = await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    async with duty(a), duty(b) as b_socket:
        rid = (await in_session(officer, a))["id"]
        path, body = f"/api/v1/requests/{rid}/transfer", {"to": b.user.id, "note": ""}
        for _ in range(2):
            status, sent = await a.call("POST", path, body, headers={"Idempotency-Key": "offer-1"})
            assert status == 202 and sent["transfer"]["offered_to"]["id"] == b.user.id
        await b_socket.wait_for("transfer.offered", timeout=10)
        await asyncio.sleep(0.3)  # a second offer, were there one, would be on its way by now
        assert b_socket.types().count("transfer.offered") == 1
        for _ in range(2):
            status, taken = await b.call(
                "POST", path + "/accept", {}, headers={"Idempotency-Key": "take-1"}
            )
            assert status == 200 and taken["clinician"]["id"] == b.user.id
        assert len(taken["transfers"]) == 1 and await sessions_of(b) == {rid}
        status, _ = await b.call("POST", path + "/accept", {}, headers={"Idempotency-Key": "new"})
        assert status == 404
