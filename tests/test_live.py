"""The live channel: events reach exactly the users entitled to them, across instances."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from conftest import (
    PASSWORD,
    REQUEST_FORM,
    ApiClient,
    SignInFactory,
    create_account,
    log_in,
    started,
)
from support.sockets import connect
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.background import DISPATCHER, FOREGROUND


async def test_created_reaches_clinicians_and_supervisors_not_other_officers(
    sign_in: SignInFactory,
) -> None:
    """request.created goes to clinicians and supervisors with no names; other officers hear
    nothing about it."""
    officer, other = await sign_in("officer"), await sign_in("officer")
    clinician, supervisor = await sign_in("clinician"), await sign_in("supervisor")
    sockets = [await connect(a) for a in (officer, other, clinician, supervisor)]
    await clinician.call("PUT", "/api/v1/availability", {"status": "available"})  # on duty
    status, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    assert status == 201
    for s in sockets[2:]:
        event = await s.wait_for("request.created")
        assert event["request"]["id"] == created["id"]
        assert "known_name" not in json.dumps(event) and "Jane" not in json.dumps(event)
    own = await sockets[0].wait_for("queue.changed", request_id=created["id"])
    assert own["position"] == 1 and own["estimated_wait_s"] > 0
    await asyncio.sleep(0.2)
    assert not any(
        m.get("request_id") == created["id"] or "request" in m for m in sockets[1].messages
    )
    for s in sockets:
        await s.close()


async def test_accept_chat_and_signalling_reach_only_the_pair(sign_in: SignInFactory) -> None:
    """After accept, the owner gets request.updated; chat and signals pass between the pair;
    a third clinician's signal is refused with an error and the socket stays open."""
    officer, clinician, intruder = (
        await sign_in("officer"),
        await sign_in("clinician"),
        await sign_in("clinician"),
    )
    s_off, s_cli, s_int = [await connect(a) for a in (officer, clinician, intruder)]
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    status, _ = await clinician.post(f"/api/v1/requests/{rid}/accept")
    assert status == 200
    updated = await s_off.wait_for("request.updated", status="in_session")
    assert updated["request"]["clinician"]["id"] == clinician.user.id
    await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "can you hear me"})
    chat = await s_cli.wait_for("chat.message", request_id=rid)
    assert chat["message"]["text"] == "can you hear me"
    await s_cli.ws.send_json({"type": "signal", "request_id": rid, "data": {"description": 1}})
    signal = await s_off.wait_for("signal", request_id=rid)
    assert signal["from_role"] == "clinician" and signal["data"] == {"description": 1}
    await s_int.ws.send_json({"type": "signal", "request_id": rid, "data": {}})
    error = await s_int.wait_for("error")
    assert error["error"]["code"] == "signal_refused"
    await s_int.ws.send_str("garbage{")
    await s_int.ws.send_json({"type": "ping"})
    await s_int.wait_for("pong")
    assert not any(m["type"] == "signal" for m in s_int.messages)
    assert not any(m["type"] == "chat.message" for m in s_int.messages)
    for s in (s_off, s_cli, s_int):
        await s.close()


async def test_ws_needs_sign_in_and_same_origin(server: TestServer, sign_in: SignInFactory) -> None:
    """Without a session /ws answers 401; with a foreign Origin it answers 403."""
    async with aiohttp.ClientSession() as anonymous, anonymous.get(server.make_url("/ws")) as r:
        assert r.status == 401
    officer = await sign_in("officer")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await officer.client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403


async def sign_in_on(server: TestServer, app: web.Application, role: str) -> ApiClient:
    """Sign in a new account on a given instance."""
    user = await create_account(app, Role(role))
    client = TestClient(server)
    await client.start_server()
    async with client.post(
        "/api/v1/login", json={"username": user.username, "password": PASSWORD}
    ) as r:
        body = await r.json()
    return ApiClient(client, user, body["csrf_token"])


async def test_two_instances_behave_as_one(server: TestServer, second_server: TestServer) -> None:
    """Officer on one instance, clinician on another: events, chat and signalling cross."""
    officer = await sign_in_on(server, server.app, "officer")
    clinician = await sign_in_on(second_server, server.app, "clinician")
    s_off, s_cli = await connect(officer), await connect(clinician)
    _, created = await officer.post("/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    await s_cli.wait_for("request.created")
    status, _ = await clinician.post(f"/api/v1/requests/{rid}/accept")
    assert status == 200
    await s_off.wait_for("request.updated", status="in_session")
    await clinician.post(f"/api/v1/requests/{rid}/messages", {"text": "hello from B"})
    assert (await s_off.wait_for("chat.message"))["message"]["text"] == "hello from B"
    await s_off.ws.send_json({"type": "signal", "request_id": rid, "data": {"x": 1}})
    assert (await s_cli.wait_for("signal"))["data"] == {"x": 1}
    for s in (s_off, s_cli):
        await s.close()
    await officer.client.close()
    await clinician.client.close()


async def test_requests_being_served_count_as_foreground_and_open_sockets_do_not(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """What the queue broadcast gives way to: a request counts while it is served; a live
    socket, open for hours, does not (or the broadcast would always wait); the wake-up
    dispatcher counts with the same count."""
    app = create_app(settings)
    seen: list[int] = []

    async def probe(request: web.Request) -> web.Response:
        seen.append(request.app[FOREGROUND].serving_now)
        return web.Response()

    app.router.add_get("/probe", probe)
    server = await started(app, 0)
    try:
        clinician = await log_in(server, await create_account(app, Role.CLINICIAN))
        socket = await connect(clinician)
        await clinician.client.get("/probe")
        assert seen == [1]
        assert app[FOREGROUND].serving_now == 0
        assert app[DISPATCHER].foreground is app[FOREGROUND]
        await socket.close()
        await clinician.client.close()
    finally:
        await server.close()
