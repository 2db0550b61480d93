"""A message to a waiting officer: any clinician the waiting request is offered to may send
one; it reaches the officer live, stays with the record's chat, and is in the access log."""

from __future__ import annotations

from typing import cast

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import SignInFactory, new_request, on_duty, read_events, read_stream
from support.sockets import connect
from triage_client.call_flow import accept
from triage_service.domain.errors import Conflict
from triage_service.service import messages
from triage_service.web.state import CLOCK, STORE

SOON = "A clinician will be with you in about 5 minutes."


async def test_clinician_covering_the_board_messages_a_waiting_officer(
    sign_in: SignInFactory, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """The message is stored with the request's chat, pushed to the officer's socket, kept
    as a `message` event and a `waiting_message` access entry; it changes nothing else."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    socket = await connect(officer)
    waiting = await new_request(officer)
    rid = waiting["id"]
    status, sent = await clinician.post(f"/api/v1/requests/{rid}/messages", {"text": SOON})
    assert status == 201, sent
    assert sent["author"]["id"] == clinician.user.id and sent["author"]["role"] == "clinician"
    pushed = await socket.wait_for("chat.message", request_id=rid)
    assert pushed["message"]["text"] == SOON
    _, chat = await officer.get(f"/api/v1/requests/{rid}/messages")
    assert [m["text"] for m in chat["messages"]] == [SOON]
    _, seen = await officer.get(f"/api/v1/requests/{rid}")
    assert seen["status"] == "waiting" and seen["clinician"] is None
    audit = await read_stream(redis_client, key_prefix + "audit")
    writes = [e["user_id"] for e in audit if e["action"] == "waiting_message"]
    assert writes == [clinician.user.id] and audit[-1]["request_id"] in ("", rid)
    events = await read_events(redis_client, key_prefix)
    assert any(e["type"] == "message" and e["actor"] == clinician.user.id for e in events)
    # The clinician who then takes the request finds the message in the chat.
    await accept(clinician, rid)
    _, chat = await clinician.get(f"/api/v1/requests/{rid}/messages")
    assert [m["text"] for m in chat["messages"]] == [SOON]
    await socket.close()


async def test_only_clinicians_it_is_offered_to_and_only_while_it_waits(
    sign_in: SignInFactory,
) -> None:
    """A clinician of another board (before the overflow) and a supervisor cannot send one;
    once the request is in session with someone else, nor can the clinician who could."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    elsewhere = await sign_in("clinician", boards="borders")
    taker, supervisor = await sign_in("clinician"), await sign_in("supervisor")
    async with on_duty(clinician):  # someone covers its board: no overflow to everyone yet
        rid = (await new_request(officer, urgency="routine"))["id"]
        path = f"/api/v1/requests/{rid}/messages"
        assert (await elsewhere.post(path, {"text": SOON}))[0] == 404
        assert (await supervisor.post(path, {"text": SOON}))[0] == 403
        status, body = await clinician.post(path, {"text": ""})
        assert status == 422 and "text" in body["error"]["fields"]
        assert (await clinician.get(path))[0] == 404  # sending is not reading the chat
        assert (await clinician.post(path, {"text": SOON}))[0] == 201
        await accept(taker, rid)
        assert (await clinician.post(path, {"text": SOON}))[0] == 404


async def test_message_racing_an_accept_is_refused(sign_in: SignInFactory) -> None:
    """A message written while the request waited but arriving after another clinician took
    it is refused (409 `not_waiting`), never slipped into someone else's session."""
    officer, clinician, taker = (
        await sign_in("officer"),
        await sign_in("clinician"),
        await sign_in("clinician"),
    )
    rid = (await new_request(officer))["id"]
    app = cast(TestServer, clinician.client.server).app
    store = app[STORE]
    read_while_waiting = await store.requests.load(rid)
    assert read_while_waiting is not None
    await accept(taker, rid)
    with pytest.raises(Conflict) as refused:
        await messages.post_message(
            store, read_while_waiting, clinician.user, SOON, now_ms=app[CLOCK]()
        )
    assert refused.value.code == "not_waiting"
    _, chat = await taker.get(f"/api/v1/requests/{rid}/messages")
    assert chat["messages"] == []
