"""Guests: a single-use link from the session's clinician admits one guest page, with no
account, to the call and chat only, until the session ends, the expiry or a revocation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, ApiClient, FakeClock, SignInFactory, in_session
from support.guests import GuestClient
from triage_service.web.state import STORE


async def invite(clinician: ApiClient, request_id: str, **changes: Any) -> tuple[int, Any]:
    """POST .../guests as `clinician` (an interpreter unless changed)."""
    body = {"display_name": "Ana Interpreter", "role": "interpreter", **changes}
    return await clinician.post(f"/api/v1/requests/{request_id}/guests", body)


async def test_only_the_sessions_clinician_makes_links_with_valid_fields(
    sign_in: SignInFactory,
) -> None:
    """An officer 403, another clinician 404; a bad role, an empty or too long name, an
    expiry out of range are 422 naming the field; a finished session is 409."""
    officer, clinician, stranger = (
        await sign_in("officer"), await sign_in("clinician"), await sign_in("clinician")
    )  # fmt: skip
    rid = (await in_session(officer, clinician, notes="Secret notes"))["id"]
    assert (await invite(officer, rid))[0] == 403
    assert (await invite(stranger, rid))[0] == 404
    for field, value in (("role", "doctor"), ("display_name", ""), ("display_name", "x" * 81),
                         ("expires_in_s", 5)):  # fmt: skip
        status, body = await invite(clinician, rid, **{field: value})
        assert status == 422 and field in body["error"]["fields"], (field, body)
    status, link = await invite(clinician, rid)
    assert status == 201 and link["url"].split("/guest/")[1] and link["expires_at"], link
    assert (await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM))[0] == 201
    status, body = await invite(clinician, rid)
    assert status == 409 and body["error"]["code"] == "not_in_session"


async def test_a_link_is_single_use_and_shows_nothing_of_the_record(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """The first opening joins the call (and may reload; a HEAD does not use it up); a second
    browser is refused with a clear page (410); the guest page, its people list and its chat
    (from their joining on) carry no record data; the token is not stored, only its hash; the
    guest is named in the chat and the audit."""
    officer, clinician, admin = (
        await sign_in("officer"), await sign_in("clinician"), await sign_in("admin")
    )  # fmt: skip
    rid = (await in_session(officer, clinician, notes="Secret notes about her"))["id"]
    await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "Said before the guest"})
    _, link = await invite(clinician, rid)
    token = link["url"].rsplit("/", 1)[1]
    async with GuestClient(server) as guest, GuestClient(server) as other:
        path = "/" + link["url"].split("/", 3)[3]
        assert (await other.client.head(path)).status == 200  # a link checker: not a use
        status, page = await guest.open_link(link["url"])
        assert status == 200 and 'data-testid="participants"' in page
        for secret in ("Secret notes", "PS-2026", "Bus station", officer.user.username):
            assert secret not in page
        assert (await guest.open_link(link["url"]))[0] == 200  # the same page reloading
        status, refused = await other.open_link(link["url"])
        assert status == 410 and "used already" in refused
        status, people = await guest.get("/api/v1/guest/participants")
        assert status == 200 and people["me"] == link["id"]
        assert [p["role"] for p in people["people"]] == ["officer", "clinician", "guest"]
        assert set(people) == {"request_id", "status", "me", "people", "everyone"}
        assert people["everyone"] == []  # the record's list is the clinician's
        assert (await guest.post("/api/v1/guest/messages", {"text": "Hola"}))[0] == 201
        _, seen = await guest.get("/api/v1/guest/messages")
        texts = [m["text"] for m in seen["messages"]]
        assert "Hola" in texts and "Said before the guest" not in texts, texts
        assert (await guest.get(f"/api/v1/requests/{rid}"))[0] == 401
    keys = await clinician_keys(server)
    assert not any(token in key for key in keys)
    _, chat = await officer.get(f"/api/v1/requests/{rid}/messages")
    authors = {(m["author"]["role"], m["text"]) for m in chat["messages"]}
    assert ("guest", "Hola") in authors
    assert any("Ana Interpreter" in text and "joined" in text for _, text in authors)
    _, log = await admin.get(f"/api/v1/audit?request_id={rid}")
    actions = {(e["action"], e["role"]) for e in log["entries"]}
    assert {("guest_invited", "clinician"), ("guest_joined", "guest")} <= actions


async def clinician_keys(server: TestServer) -> list[str]:
    """Every Redis key of this test's service."""
    store = server.app[STORE]
    return [key async for key in store.client.scan_iter(match=store.keys("*"))]


async def test_a_revoked_link_and_a_revoked_guest_are_refused(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """Revoking an unused link makes it refused; revoking a guest in the call takes them out:
    their page's API answers 401 and their live channel closes."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, unused = await invite(clinician, rid)
    _, used = await invite(clinician, rid, display_name="Sam Social Worker", role="other")
    path = f"/api/v1/requests/{rid}/guests"
    assert (await clinician.call("DELETE", f"{path}/{unused['id']}"))[0] == 204
    assert (await clinician.call("DELETE", f"{path}/nobody"))[0] == 404
    async with GuestClient(server) as guest:
        assert (await guest.open_link(unused["url"]))[0] == 410
        assert (await guest.open_link(used["url"]))[0] == 200
        ws = await guest.live()
        await ws.send_json({"type": "ping"})
        while (await ws.receive_json())["type"] != "pong":
            pass  # the guest's joining, told to everyone in the call, may arrive first
        assert (await clinician.call("DELETE", f"{path}/{used['id']}"))[0] == 204
        assert (await guest.get("/api/v1/guest/participants"))[0] == 401
        assert (await guest.post("/api/v1/guest/messages", {"text": "x"}))[0] == 401
        await ws.send_json({"type": "ping"})
        closing = await ws.receive()
        while closing.type is WSMsgType.TEXT:
            closing = await ws.receive()
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await ws.close()


async def test_links_are_refused_after_the_session_ends(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """Once the outcome is filed an unused link is refused with a clear page and a guest in
    the call is out (401)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, unused = await invite(clinician, rid)
    _, used = await invite(clinician, rid, role="person", display_name="Her own phone")
    async with GuestClient(server) as guest, GuestClient(server) as late:
        assert (await guest.open_link(used["url"]))[0] == 200
        assert (await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM))[0] == 201
        assert (await guest.get("/api/v1/guest/messages"))[0] == 401
        status, page = await late.open_link(unused["url"])
        assert status == 410 and "ended" in page


@pytest.mark.fake_clock
async def test_a_link_expires_sooner_when_asked(
    server: TestServer, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A link made to last 60 s is refused after 61 s, the session still running."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, link = await invite(clinician, rid, expires_in_s=60)
    clock.advance(61)
    async with GuestClient(server) as guest:
        status, page = await guest.open_link(link["url"])
    assert status == 410 and "expired" in page


@pytest.mark.settings(turn_secret="s3cret", turn_urls="turn:turn.example.org:3478")
@pytest.mark.fake_clock
async def test_guest_turn_credentials_last_no_longer_than_the_link(
    server: TestServer, sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A guest page gets TURN credentials named for the guest that lapse with its link (here
    in 120 s), and none once out of the call; the page's signals reach the officer."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, link = await invite(clinician, rid, expires_in_s=120)
    async with GuestClient(server) as guest:
        assert (await guest.open_link(link["url"]))[0] == 200
        status, body = await guest.get("/api/v1/guest/ice-servers")
        assert status == 200, body
        turn = [s for s in body["iceServers"] if s.get("username")]
        expiry, name = turn[0]["username"].split(":")
        assert name == f"guest-{link['id']}" and int(expiry) <= clock() // 1000 + 120
        await officer.open_live()
        ws = await guest.live()
        data = {"hello": True}
        await ws.send_json(
            {"type": "signal", "request_id": rid, "to": officer.user.id, "data": data}
        )
        assert await asyncio.wait_for(officer.signals(rid).get(), 10) == data
        await ws.close()
        await guest.post("/api/v1/guest/leave")
        assert (await guest.get("/api/v1/guest/ice-servers"))[0] == 401


async def test_the_guest_page_has_the_same_security_headers(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """The guest page and its refusal carry the CSP and the other headers of every page."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, link = await invite(clinician, rid)
    async with GuestClient(server) as guest:
        home = await guest.client.get("/")
        joined = await guest.client.get("/" + link["url"].split("/", 3)[3])
        refused = await guest.client.get("/guest/" + "x" * 43)
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
                     "Permissions-Policy"):  # fmt: skip
            assert joined.headers[name] == home.headers[name] == refused.headers[name], name
        assert refused.status == 410
        cookie = joined.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_a_guest_on_another_instance_gets_signals_and_chat(
    server: TestServer, second_server: TestServer, sign_in: SignInFactory
) -> None:
    """Instances share only Redis: a guest page on the second instance receives the officer's
    signal and chat sent through the first, and its own signal reaches the officer."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await in_session(officer, clinician))["id"]
    _, link = await invite(clinician, rid)
    await officer.open_live()
    async with GuestClient(second_server) as guest:
        assert (await guest.open_link(link["url"]))[0] == 200
        ws = await guest.live()
        offer = {"description": {"type": "offer", "sdp": "v=0"}}
        await officer.send_live(
            {"type": "signal", "request_id": rid, "to": link["id"], "data": offer}
        )
        await officer.post(f"/api/v1/requests/{rid}/messages", {"text": "Can you hear us?"})
        signal, said = None, []
        while signal is None or "Can you hear us?" not in said:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            if message["type"] == "signal":
                signal = message
            elif message["type"] == "chat.message":
                said.append(message["message"]["text"])
        assert signal["data"] == offer and signal["peer"] == officer.user.id
        await ws.send_json(
            {"type": "signal", "request_id": rid, "to": officer.user.id, "data": {"x": 1}}
        )
        assert await asyncio.wait_for(officer.signals(rid).get(), 10) == {"x": 1}
        await ws.close()
