"""Account lifecycle through the command line against the service's Redis: list, disable,
enable, new password, new role; and the password and display-name rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from conftest import ApiClient
from support.commands import user_cmd
from support.sockets import close_code, open_socket, same_session_on
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.accounts import add_user, count_users, reset_password, set_disabled
from triage_service.service.passwords import password_problem
from triage_service.web.state import STORE

GOOD = "a long phrase of my own"


async def add(
    server: TestServer, username: str, role: str = "officer", display_name: str | None = None
) -> None:
    """Create an account with password GOOD (`user add` itself is tested in test_cli)."""
    await add_user(
        server.app[STORE],
        username=username,
        role=Role(role),
        password=GOOD,
        display_name=display_name,
    )


OPENED: list[TestClient[Any, Any]] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    """Close the clients a test opened (closing one also stops its server: only at the end)."""
    yield
    while OPENED:
        await OPENED.pop().close()


async def log_in(server: TestServer, username: str, password: str = GOOD) -> ApiClient | int:
    """A signed-in client, or the failed sign-in's status."""
    client = TestClient(server)
    await client.start_server()
    OPENED.append(client)
    async with client.post("/api/v1/login", json={"username": username, "password": password}) as r:
        if r.status != 200:
            return r.status
        body = await r.json()
    user = User(id=body["user"]["id"], username=username, display_name="", role=Role.OFFICER)
    return ApiClient(client, user, body["csrf_token"])


# The sockets are not read while the command runs (seconds on a loaded machine): a long
# heartbeat keeps the server from closing them as silent before the command's close arrives.
@pytest.mark.settings(ws_heartbeat_s=120.0)
@pytest.mark.slow  # runs the command line
async def test_disable_ends_sessions_and_sockets_everywhere(
    server: TestServer, second_server: TestServer, key_prefix: str
) -> None:
    """`user disable` closes the user's sockets on both instances (4401) within 2 s, their
    cookie is dead, and signing in again is 401 invalid_credentials; `user enable` lets
    them back in."""
    await add(server, "dora")
    api = await log_in(server, "dora")
    assert isinstance(api, ApiClient)
    elsewhere = await same_session_on(second_server, api)
    OPENED.append(elsewhere)
    sockets = [await open_socket(api.client), await open_socket(elsewhere)]
    status, out, err = await user_cmd(key_prefix, "disable", "dora")
    assert status == 0 and "disabled dora" in out, err
    for ws in sockets:
        assert await close_code(ws, timeout=2) == 4401
    assert (await api.get("/api/v1/me"))[0] == 401
    async with api.client.post("/api/v1/login", json={"username": "dora", "password": GOOD}) as r:
        assert r.status == 401 and (await r.json())["error"]["code"] == "invalid_credentials"
    assert (await user_cmd(key_prefix, "enable", "dora"))[0] == 0
    again = await log_in(server, "dora")
    assert isinstance(again, ApiClient)


@pytest.mark.slow  # runs the command line
async def test_list_shows_accounts_and_their_state(server: TestServer, key_prefix: str) -> None:
    """`user list` prints username, role, enabled or disabled and display name per line."""
    await add(server, "erin", "clinician", display_name="Dr Erin")
    await add(server, "finn")
    await set_disabled(server.app[STORE], "finn", True)
    status, out, _ = await user_cmd(key_prefix, "list")
    assert status == 0
    assert out.splitlines() == [
        "erin\tclinician\tenabled\tDr Erin",
        "finn\tofficer\tdisabled\tfinn",
    ]


@pytest.mark.slow  # runs the command line
async def test_reset_password_ends_sessions_and_replaces_the_password(
    server: TestServer, key_prefix: str
) -> None:
    """After `user reset-password` the old password and the old session are dead; the new
    password signs in."""
    await add(server, "gail")
    api = await log_in(server, "gail")
    assert isinstance(api, ApiClient)
    new = "another phrase entirely"
    status, _, err = await user_cmd(
        key_prefix, "reset-password", "gail", "--password-stdin", stdin=new + "\n"
    )
    assert status == 0, err
    assert (await api.get("/api/v1/me"))[0] == 401
    assert await log_in(server, "gail") == 401
    fresh = await log_in(server, "gail", new)
    assert isinstance(fresh, ApiClient)


@pytest.mark.slow  # runs the command line
async def test_set_role_ends_sessions_and_changes_the_role(
    server: TestServer, key_prefix: str
) -> None:
    """`user set-role` ends the user's sessions; the next sign-in carries the new role."""
    await add(server, "hal")
    api = await log_in(server, "hal")
    assert isinstance(api, ApiClient)
    assert (await user_cmd(key_prefix, "set-role", "hal", "supervisor"))[0] == 0
    assert (await api.get("/api/v1/me"))[0] == 401
    fresh = await log_in(server, "hal")
    assert isinstance(fresh, ApiClient)
    status, me = await fresh.get("/api/v1/me")
    assert status == 200 and me["user"]["role"] == "supervisor"


@pytest.mark.slow  # runs the command line
async def test_unknown_user_is_a_clear_error(key_prefix: str) -> None:
    """Disabling an account that does not exist fails with one clear line."""
    status, _, err = await user_cmd(key_prefix, "disable", "nobody")
    assert status == 1 and "no user 'nobody'" in err


@pytest.mark.slow  # runs the command line
async def test_weak_password_is_refused_by_user_add(server: TestServer, key_prefix: str) -> None:
    """`user add` refuses a common password with a clear line and creates nothing."""
    status, _, err = await user_cmd(
        key_prefix, "add", "ivy", "--role", "officer", "--password-stdin", stdin="Password1234\n"
    )
    assert status == 1 and "too common" in err
    assert await count_users(server.app[STORE]) == 0


@pytest.mark.parametrize("password", ["password", "12345678", "Password1234", "qwertyuiop12"])
async def test_weak_passwords_are_refused(server: TestServer, password: str) -> None:
    """Short or common passwords (checked case-insensitively against the shipped list) are
    refused for new accounts and for new passwords."""
    store = server.app[STORE]
    with pytest.raises(ValueError, match="password"):
        await add_user(store, username="ivy", role=Role.OFFICER, password=password)
    await add_user(store, username="ivy", role=Role.OFFICER, password=GOOD)
    with pytest.raises(ValueError, match="password"):
        await reset_password(store, "ivy", password)


def test_password_rules() -> None:
    """Twelve characters that are not a common password are enough; nothing else is asked."""
    assert password_problem("password") is not None
    assert password_problem("Password1234") is not None  # in the common list
    assert password_problem("aaaaaaaaaaa") is not None  # 11 characters
    assert password_problem("lowercase only words") is None


@pytest.mark.parametrize(
    "name", ["", " ", "x" * 81, "Eve\u202egnp.exe", "Bell\x07", "Line\nbreak", "Zero\u200bWidth"]
)
async def test_bad_display_names_are_refused(server: TestServer, name: str) -> None:
    """A display name must be 1-80 printable characters: no control, bidi-override or
    invisible format characters."""
    with pytest.raises(ValueError, match="display name"):
        await add_user(
            server.app[STORE], username="jo", role=Role.OFFICER, password=GOOD, display_name=name
        )


@pytest.mark.slow  # runs the command line
async def test_bad_display_name_via_cli(key_prefix: str) -> None:
    """`user add --display-name` with a bidi override fails with one clear line."""
    status, _, err = await user_cmd(
        key_prefix,
        "add",
        "jo",
        "--role",
        "officer",
        "--display-name=Eve\u202egnp.exe",
        "--password-stdin",
        stdin=GOOD + "\n",
    )
    assert status == 1 and "display name" in err, err


@pytest.mark.slow  # runs the command line
async def test_user_add_phone_via_cli(server: TestServer, key_prefix: str) -> None:
    """`user add --phone` keeps a call-back number on the account; a malformed one fails with
    one clear line and no account."""
    args = ("--role", "clinician", "--password-stdin")
    status, _, err = await user_cmd(
        key_prefix, "add", "kim", *args, "--phone", "0131 496 0000", stdin=GOOD + "\n"
    )
    assert status == 0, err
    store = server.app[STORE]
    user_id = await store.accounts.id_of("kim")
    assert user_id is not None
    assert (await store.accounts.load(user_id))["phone"] == "0131 496 0000"
    status, _, err = await user_cmd(
        key_prefix, "add", "lee", *args, "--phone", "ring me", stdin=GOOD + "\n"
    )
    assert status == 1 and "phone" in err and len(err.strip().splitlines()) == 1, err
    assert await store.accounts.id_of("lee") is None
