"""Smaller controls: secret key length, /metrics beyond loopback, TURN credentials by role and
lifetime, the per-user socket cap, a CSP never built from the Host header, look-alike
usernames, and the README's account commands matching the CLI."""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from conftest import ApiClient, SignInFactory, create_account
from support.commands import user_cmd
from support.sockets import close_code
from triage_service.domain.codes import Role
from triage_service.service.accounts import add_user
from triage_service.settings import Settings, SettingsError
from triage_service.web.state import STORE

README = Path(__file__).parents[1] / "README.md"
TURN = {
    "turn_secret": "coturn-shared-secret",
    "turn_urls": "turn:turn.example.org:3478",
    "turn_ttl_s": 3600,
    "session_idle_s": 300,
}


def test_a_short_secret_key_stops_start_up() -> None:
    """`--secret-key` shorter than 32 bytes is refused at start-up; 32 bytes is enough."""
    with pytest.raises(SettingsError, match="secret_key must be at least 32 bytes"):
        Settings(secret_key="x" * 31)
    with pytest.raises(SettingsError, match="secret_key"):
        Settings.from_env({"TRIAGE_SECRET_KEY": "short"})
    assert Settings(secret_key="é" * 16).secret_key  # 32 bytes in UTF-8


@pytest.mark.settings(host="0.0.0.0")
async def test_metrics_beyond_loopback_need_a_token(anonymous: ApiClient) -> None:
    """Listening beyond loopback with no metrics token, /metrics is closed (401 saying to set
    TRIAGE_METRICS_TOKEN)."""
    status, body = await anonymous.get("/metrics")
    assert status == 401 and body["error"]["code"] == "metrics_token_required"


@pytest.mark.settings(host="0.0.0.0", metrics_token="t0ken")
async def test_metrics_beyond_loopback_with_the_token(anonymous: ApiClient) -> None:
    """With the token configured, /metrics answers the bearer of it and nobody else."""
    assert (await anonymous.get("/metrics"))[0] == 401
    async with anonymous.client.get("/metrics", headers={"Authorization": "Bearer t0ken"}) as r:
        assert r.status == 200


async def test_metrics_on_loopback_stay_open(anonymous: ApiClient) -> None:
    """On a loopback address only (the default) /metrics needs no token."""
    async with anonymous.client.get("/metrics") as r:
        assert r.status == 200


@pytest.mark.settings(**TURN)
async def test_turn_credentials_only_for_callers_and_no_longer_than_a_session_idles(
    sign_in: SignInFactory,
) -> None:
    """Officers and clinicians get TURN credentials expiring within the session idle limit
    (300 s here, though turn_ttl_s is 3600); supervisors, admins and receivers get none."""
    for role in ("officer", "clinician"):
        api = await sign_in(role)
        before = int(time.time())
        [turn] = (await api.get("/api/v1/ice-servers"))[1]["iceServers"]
        expiry = int(turn["username"].split(":")[0])
        assert before < expiry <= int(time.time()) + 300
    for role, extra in (("supervisor", {}), ("admin", {}), ("receiver", {"team": "cmht:default"})):
        api = await sign_in(role, **extra)
        assert (await api.get("/api/v1/ice-servers"))[1] == {"iceServers": []}


@pytest.mark.settings(ws_max_per_user=2)
async def test_a_user_may_hold_only_so_many_sockets(sign_in: SignInFactory) -> None:
    """Past `ws_max_per_user` open sockets, a new one is closed at once with 4429; once one
    closes, another may open; other users are not affected."""
    officer, other = await sign_in("officer"), await sign_in("officer")
    first, second = await officer.connect_ws(), await officer.connect_ws()
    third = await officer.connect_ws()
    assert await close_code(third) == 4429
    theirs = await other.connect_ws()
    await first.close()
    fourth = await officer.connect_ws()
    await fourth.send_json({"type": "ping"})
    assert (await fourth.receive_json(timeout=2))["type"] == "pong"
    for ws in (second, fourth, theirs):
        await ws.close()


async def test_csp_is_never_built_from_the_host_header(server: TestServer) -> None:
    """A request naming another Host gets the same connect-src: this service's own address."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url("/"), headers={"Host": "evil.example"}) as r,
    ):
        csp = r.headers["Content-Security-Policy"]
    assert "evil.example" not in csp
    assert f"connect-src 'self' ws://127.0.0.1:{server.port};" in csp


@pytest.mark.parametrize(
    "username",
    [
        "p\u0430ypal",
        "ivan-\u0438\u0432\u0430\u043d",
        "\uff2ffficer",
        "o\u06f1fficer",
        "ad\u200bmin",
        "\u2170van",
    ],
)
async def test_look_alike_usernames_are_refused(server: TestServer, username: str) -> None:
    """Usernames mixing scripts (a Cyrillic a in Latin letters), in compatibility forms (full-width,
    Roman numerals), with non-ASCII digits or invisible characters are refused."""
    with pytest.raises(ValueError, match="username"):
        await add_user(
            server.app[STORE], username=username, role=Role.OFFICER, password="a quiet kestrel"
        )


@pytest.mark.parametrize("username", ["jürgen", "иван", "山田たろう", "j.smith_2"])
async def test_single_script_usernames_are_accepted(server: TestServer, username: str) -> None:
    """Names in one script, accented Latin and Japanese (kana with kanji) included, pass."""
    user = await add_user(
        server.app[STORE], username=username, role=Role.OFFICER, password="a quiet kestrel"
    )
    assert user.username == username


@pytest.mark.slow  # runs the command line
async def test_readme_set_role_usage_matches_the_cli(server: TestServer, key_prefix: str) -> None:
    """The README's `user set-role` line, filled in, is what the CLI accepts."""
    [usage] = re.findall(r"`user set-role\s+(.+?)`", README.read_text(), re.S)
    assert usage.split() == ["USERNAME", "ROLE"]
    user = await create_account(server.app, Role.OFFICER)
    status, out, err = await user_cmd(key_prefix, "set-role", user.username, "clinician")
    assert status == 0 and "is now clinician" in out, err


async def test_openapi_lists_every_status_and_the_audit_parameters(anonymous: ApiClient) -> None:
    """The document lists 415, 408 and 403 bad_origin on changes with a body, 403 bad_origin
    on sign-in, 429 on creating requests and sending messages, and /audit's parameters."""
    document = (await anonymous.get("/api/v1/openapi.json"))[1]
    paths = document["paths"]
    create = paths["/api/v1/requests"]["post"]["responses"]
    assert {"408", "415", "429"} <= set(create) and "bad_origin" in create["403"]["description"]
    assert "429" in paths["/api/v1/requests/{id}/messages"]["post"]["responses"]
    assert "bad_origin" in paths["/api/v1/login"]["post"]["responses"]["403"]["description"]
    assert "429" in paths["/api/v1/me/password"]["post"]["responses"]
    audit = paths["/api/v1/audit"]["get"]
    names = {p["name"] for p in audit["parameters"]}
    assert names == {"request_id", "user_id", "from", "to", "cursor", "limit"}
    assert "422" in audit["responses"]
