"""A user's own signed-in sessions: listed with device, start and last use (never a token),
and ended one by one."""

from __future__ import annotations

from datetime import datetime

from aiohttp.test_utils import TestClient, TestServer

from conftest import PASSWORD, ApiClient, SignInFactory, create_account
from support.sockets import close_code
from triage_service.domain.codes import Role
from triage_service.domain.users import User


async def signed_in_with(server: TestServer, user: User, user_agent: str) -> ApiClient:
    """`user` signed in on a new client that calls itself `user_agent`."""
    client = TestClient(server, headers={"User-Agent": user_agent})
    await client.start_server()
    api = ApiClient(client, user, "")
    await api.sign_in(user.username, PASSWORD)
    return api


async def test_a_user_sees_their_own_sessions(server: TestServer, sign_in: SignInFactory) -> None:
    """GET /me/sessions lists the user's live sessions newest first with id, device
    (User-Agent), start and last use, marking the current one; no token and no one else's
    session is in it."""
    someone_else = await sign_in("officer")
    user = await create_account(server.app, Role.CLINICIAN)
    phone = await signed_in_with(server, user, "Phone/1.0 (Android)")
    desk = await signed_in_with(server, user, "Desk/2.0 (Linux)\xad")
    try:
        status, body = await desk.get("/api/v1/me/sessions")
        assert status == 200
        sessions = body["sessions"]
        assert [s["user_agent"] for s in sessions] == ["Desk/2.0 (Linux)", "Phone/1.0 (Android)"]
        assert [s["current"] for s in sessions] == [True, False]
        for item in sessions:
            assert set(item) == {"id", "created_at", "last_seen_at", "user_agent", "current"}
            created = datetime.fromisoformat(item["created_at"])
            assert datetime.fromisoformat(item["last_seen_at"]) >= created
        text = str(body)
        for client in (phone, desk, someone_else):
            token = client.client.session.cookie_jar.filter_cookies(client.client.make_url("/"))
            assert all(morsel.value not in text for morsel in token.values())
        _, theirs = await someone_else.get("/api/v1/me/sessions")
        assert len(theirs["sessions"]) == 1
    finally:
        await phone.client.close()
        await desk.client.close()


async def test_a_user_ends_one_of_their_sessions(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """DELETE /me/sessions/{id} ends that session at once (its cookie and its socket); an
    unknown id or another user's session is 404 and ends nothing."""
    someone_else = await sign_in("officer")
    user = await create_account(server.app, Role.CLINICIAN)
    phone = await signed_in_with(server, user, "Phone")
    desk = await signed_in_with(server, user, "Desk")
    try:
        ws = await phone.connect_ws()
        _, body = await desk.get("/api/v1/me/sessions")
        [phone_id] = [s["id"] for s in body["sessions"] if not s["current"]]
        _, theirs = await someone_else.get("/api/v1/me/sessions")
        their_id = theirs["sessions"][0]["id"]
        assert (await desk.call("DELETE", f"/api/v1/me/sessions/{their_id}"))[0] == 404
        assert (await desk.call("DELETE", "/api/v1/me/sessions/0123456789abcdef"))[0] == 404
        assert (await someone_else.get("/api/v1/me"))[0] == 200
        assert (await desk.call("DELETE", f"/api/v1/me/sessions/{phone_id}"))[0] == 204
        assert (await phone.get("/api/v1/me"))[0] == 401
        assert await close_code(ws, timeout=5) == 4401
        assert (await desk.get("/api/v1/me"))[0] == 200
        assert (await desk.call("DELETE", f"/api/v1/me/sessions/{phone_id}"))[0] == 404
    finally:
        await phone.client.close()
        await desk.client.close()
