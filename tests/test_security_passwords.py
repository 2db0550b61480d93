"""Password strength (zxcvbn and the common list), passwords built from the username or the
service's name, and a user's own password change that ends every other session."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from conftest import PASSWORD, ApiClient, create_account, log_in
from support.sockets import close_code
from triage_service.domain.codes import Role
from triage_service.service.accounts import add_user
from triage_service.service.passwords import password_problem
from triage_service.web.state import STORE

NEW = "a quiet kestrel over the moor at dawn"


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "aaaaaaaaaaaa",
        "officer12345",
        "Password123!",
        "qwertyuiopasdf",
        "1qaz2wsx3edc4rfv",
    ],
)
def test_passwords_easy_to_guess_are_refused(password: str) -> None:
    """The passwords the retest got accepted, and others of the same kind (sequences,
    repeats, keyboard rows and columns), are refused as too easy to guess."""
    assert password_problem(password, username="someone") is not None


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("officer", "officer2024!!"),
        ("j.smith", "jsmithj.smith99"),
        ("j.smith", "Smith-Smith-Smith"),
        ("carol", "triage-service-1"),
        ("carol", "Triage2024Triage"),
        ("carol", "triageservice!!"),
    ],
)
def test_passwords_built_from_the_username_or_the_service_name_are_refused(
    username: str, password: str
) -> None:
    """A password that is the username or the service's name with a little around it is
    refused, saying so."""
    problem = password_problem(password, username=username)
    assert problem is not None and ("built from" in problem or "guess" in problem)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("officer", "correct horse officer battery"),
        ("carol", "a long phrase of my own"),
        ("carol", "Xk3mQ9vLp2Rt"),
        ("carol", "h" + "ü" * 3 + " my ferry leaves pier nine at 7"),
    ],
)
def test_strong_passwords_are_accepted(username: str, password: str) -> None:
    """Long phrases and random strings pass, even with the username inside a strong phrase."""
    assert password_problem(password, username=username) is None


def test_only_the_first_72_characters_are_estimated() -> None:
    """A very long password is judged by its first 72 characters: a weak start is refused,
    a strong one with anything after it accepted."""
    assert password_problem("a" * 72 + secrets.token_hex(20), username="x") is not None
    assert password_problem(NEW * 5, username="x") is None


async def test_user_add_refuses_a_password_built_from_the_username(server: TestServer) -> None:
    """`user add` (and so the CLI) refuses a password made of the new username."""
    with pytest.raises(ValueError, match="built from"):
        await add_user(
            server.app[STORE],
            username="harbourmaster",
            role=Role.OFFICER,
            password="harbourmaster!!",
        )


async def two_sessions(server: TestServer) -> tuple[ApiClient, ApiClient]:
    """One user signed in twice, on two clients."""
    user = await create_account(server.app, Role.CLINICIAN)
    return await log_in(server, user), await log_in(server, user)


async def test_changing_my_password_ends_my_other_sessions(server: TestServer) -> None:
    """POST /me/password with the right current password answers 204: this session goes on,
    the other one (and its socket) ends, the old password no longer signs in, the new one
    does."""
    mine, other = await two_sessions(server)
    try:
        ws = await other.connect_ws()
        status, _ = await mine.post("/api/v1/me/password", {"old": PASSWORD, "new": NEW})
        assert status == 204
        assert (await mine.get("/api/v1/me"))[0] == 200
        assert (await other.get("/api/v1/me"))[0] == 401
        assert await close_code(ws, timeout=5) == 4401
        fresh = await log_in_status(server, mine.user.username, PASSWORD)
        assert fresh == 401
        assert await log_in_status(server, mine.user.username, NEW) == 200
    finally:
        await mine.client.close()
        await other.client.close()


async def log_in_status(server: TestServer, username: str, password: str) -> int:
    """The status of a sign-in from a new client."""
    form = {"username": username, "password": password}
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/api/v1/login"), json=form) as r,
    ):
        return r.status


async def test_a_wrong_current_password_is_422_then_throttled(server: TestServer) -> None:
    """A wrong current password is 422 naming `old` and changes nothing; guessing it is
    throttled like sign-in (429 after five)."""
    mine, other = await two_sessions(server)
    try:
        for _ in range(5):
            status, body = await mine.post("/api/v1/me/password", {"old": "guess it", "new": NEW})
            assert status == 422 and body["error"]["code"] == "wrong_password"
            assert "old" in body["error"]["fields"]
        status, _ = await mine.post("/api/v1/me/password", {"old": PASSWORD, "new": NEW})
        assert status == 429
        assert (await other.get("/api/v1/me"))[0] == 200
    finally:
        await mine.client.close()
        await other.client.close()


@pytest.mark.parametrize("new", ["Password123!", "short", "{username}-2024!"])
async def test_a_refused_new_password_is_422_naming_new(server: TestServer, new: str) -> None:
    """A new password the rules refuse is 422 naming `new`; the old one still works and no
    session ends."""
    mine, other = await two_sessions(server)
    try:
        body_new = new.format(username=mine.user.username)
        status, body = await mine.post("/api/v1/me/password", {"old": PASSWORD, "new": body_new})
        assert status == 422 and body["error"]["code"] == "weak_password"
        assert "new" in body["error"]["fields"]
        assert (await other.get("/api/v1/me"))[0] == 200
        assert await log_in_status(server, mine.user.username, PASSWORD) == 200
    finally:
        await mine.client.close()
        await other.client.close()


async def test_a_password_change_racing_sign_ins_ends_every_earlier_session(
    server: TestServer,
) -> None:
    """The new hash and the end of the other sessions are one step even while sessions are
    being opened: every session that existed before the change is gone, the kept one stays,
    and the user's session index names exactly the sessions that still exist."""
    store = server.app[STORE]
    user = await create_account(server.app, Role.OFFICER)
    keep, *earlier = [secrets.token_urlsafe(16) for _ in range(6)]
    for token in (keep, *earlier):
        await store.sessions.save(token, "{}", user_id=user.id, idle_s=60, lifetime_s=60)
    racing = [secrets.token_urlsafe(16) for _ in range(20)]
    saves = (
        store.sessions.save(t, "{}", user_id=user.id, idle_s=60, lifetime_s=60) for t in racing
    )
    change = store.sessions.replace_password(user.id, "new-hash", keep=keep)
    ended, *_ = await asyncio.gather(change, *saves)
    assert isinstance(ended, int) and ended >= len(earlier)
    for token in earlier:
        assert await store.sessions.peek(token) is None
    assert await store.sessions.peek(keep) == "{}"
    indexed = set(await store.sessions.tokens_of(user.id))
    alive = {t for t in (keep, *earlier, *racing) if await store.sessions.peek(t) is not None}
    assert indexed == alive
    assert (await store.accounts.load(user.id))["password_hash"] == "new-hash"
