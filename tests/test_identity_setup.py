"""Setting identity up: the providers file (checked at start-up), the claim mapping, the
command line (`user add --oidc`, `user reset-mfa`, `serve --demo-accounts`), and the same-site
hop that lets the
Strict session cookie through after an identity provider's cross-site redirect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from conftest import REDIS_URL, ApiClient, create_account, log_in
from support.commands import Server, clean_env, run, start_serve
from triage_service.domain.codes import Role
from triage_service.domain.providers import (
    ClaimsRefused,
    Identity,
    ProviderFileError,
    identity_from_claims,
    parse_providers,
)
from triage_service.service.accounts import username_problem
from triage_service.service.identity import split_subject, subject_key, usernames_for
from triage_service.settings import Settings, SettingsError
from triage_service.web.app import create_app
from triage_service.web.state import STORE

BOARDS = ("lothian", "glasgow")
GOOD = """
[board]
name = "NHS Lothian"
issuer = "https://login.example.nhs.uk/oidc"
client_id = "triage"
client_secret = "s3cret"
role_claim = "groups"
boards_claim = "boards"
create_accounts = true
[board.roles]
mh-supervisors = "supervisor"
mh-clinicians = "clinician"

[force]
name = "Police Scotland"
issuer = "https://idp.police.example"
client_id = "triage"
private_key_file = "/etc/triage/force.pem"
role = "officer"
"""


def test_a_providers_file_is_read_with_its_mappings() -> None:
    """Each table is a provider, its name the id in URLs, with its claim mapping."""
    providers = parse_providers(GOOD, board_ids=BOARDS)
    assert list(providers) == ["board", "force"]
    board, force = providers["board"], providers["force"]
    assert board.roles == {"mh-supervisors": Role.SUPERVISOR, "mh-clinicians": Role.CLINICIAN}
    assert board.create_accounts and not force.create_accounts
    assert force.role is Role.OFFICER
    assert force.private_key_file == "/etc/triage/force.pem"
    assert board.scopes == ("openid", "profile", "email")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('client_secret = "s3cret"\n', ""), "give client_secret or private_key_file"),
        (('client_id = "triage"\n', 'client_id = "triage"\nprivate_key_file = "k"\n'), "one of"),
        (("[board.roles]", 'role = "clinician"\n[board.roles]'), "role_claim or role"),
        (('role_claim = "groups"\n', 'role_claim = "groups"\nboards = ["x"]\n'), "boards"),
        (('mh-clinicians = "clinician"', 'mh-clinicians = "nurse"'), "roles.mh-clinicians"),
        (("[board]", "[Board]"), "id in URLs"),
        (("https://login.example.nhs.uk/oidc", "login.example"), "issuer"),
        (("create_accounts = true", "create_account = true"), "create_account"),
    ],
)
def test_a_bad_providers_file_is_refused_naming_the_problem(
    change: tuple[str, str], problem: str
) -> None:
    """A providers file with a missing or doubled client credential, a claim and a fixed
    value for one thing, an unknown role or board, a bad id or issuer, or an unknown key
    is refused in one line naming it."""
    with pytest.raises(ProviderFileError, match=problem):
        parse_providers(GOOD.replace(*change, 1), board_ids=BOARDS)


def test_settings_refuse_a_bad_providers_file_at_start_up(tmp_path: Path) -> None:
    """A providers file that cannot be read or parsed stops the service at start-up."""
    with pytest.raises(SettingsError, match="cannot read it"):
        Settings(oidc_file=str(tmp_path / "missing.toml"))
    bad = tmp_path / "oidc.toml"
    bad.write_text("[board]\nname = 1\n")
    with pytest.raises(SettingsError, match=r"oidc_file .*board"):
        Settings(oidc_file=str(bad))


def test_claims_map_to_a_role_boards_and_a_name() -> None:
    """The role is the first of the `roles` table whose value the claim holds (a list or a
    space-separated string); boards are those of the claim this service knows; the name and
    username come from the claims (spaces dropped from a username)."""
    board = parse_providers(GOOD, board_ids=BOARDS)["board"]
    claims = {
        "sub": "248289761001",
        "name": "Jane Doe",
        "preferred_username": "Jane Doe",
        "groups": "staff mh-clinicians mh-supervisors",
        "boards": ["glasgow", "narnia"],
    }
    identity = identity_from_claims(board, claims, board_ids=BOARDS)
    assert identity.role is Role.SUPERVISOR
    assert identity.boards == ("glasgow",)
    assert (identity.username, identity.display_name) == ("JaneDoe", "Jane Doe")
    force = parse_providers(GOOD, board_ids=BOARDS)["force"]
    officer = identity_from_claims(force, {"sub": "pc1"}, board_ids=BOARDS)
    assert (officer.role, officer.boards, officer.username) == (Role.OFFICER, None, "pc1")


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"groups": ["hr"], "boards": ["lothian"]}, "no_role"),
        ({"boards": ["lothian"]}, "no_role"),
        ({"groups": ["mh-clinicians"]}, "no_board"),
        ({"groups": ["mh-clinicians"], "boards": ["narnia"]}, "no_board"),
    ],
)
def test_claims_that_place_nobody_refuse(claims: dict[str, Any], code: str) -> None:
    """No mapped role, or no board of this service (an absent claim included: it never
    means every board), refuses the sign-in."""
    board = parse_providers(GOOD, board_ids=BOARDS)["board"]
    with pytest.raises(ClaimsRefused) as refused:
        identity_from_claims(board, {"sub": "x", **claims}, board_ids=BOARDS)
    assert refused.value.code == code


def test_issuer_and_subject_are_split_after_the_issuer() -> None:
    """`ISSUER:SUBJECT` splits after a configured issuer (whose URL holds colons of its
    own), else at the last colon; anything else is refused."""
    issuer = "https://idp.example:8443/realms/nhs"
    assert split_subject(f"{issuer}:a:b", [issuer]) == (issuer, "a:b")
    assert split_subject(f"{issuer}:abc") == (issuer, "abc")
    for bad in ("no-issuer", "idp.example:abc", "https://idp.example:"):
        with pytest.raises(ValueError, match="ISSUER:SUBJECT"):
            split_subject(bad)


@pytest.mark.slow  # runs the command line
async def test_user_add_oidc_and_reset_mfa_on_the_command_line(
    server: TestServer, key_prefix: str
) -> None:
    """`user add NAME --role R --oidc ISSUER:SUBJECT` makes an account without a password
    linked to that subject (a second one for the same subject is refused); `user reset-mfa
    NAME` removes an account's second factors."""
    env = {**clean_env(), "TRIAGE_REDIS_URL": REDIS_URL, "TRIAGE_KEY_PREFIX": key_prefix}
    oidc = "https://idp.police.example:olly"
    code, out, err = await run(
        "user", "add", "pc-olly", "--role", "officer", "--oidc", oidc, env=env
    )
    assert code == 0, err
    assert "created officer pc-olly" in out
    store = server.app[STORE]
    user_id = await store.identities.owner_of(subject_key("https://idp.police.example", "olly"))
    assert user_id == await store.accounts.id_of("pc-olly")
    assert "password_hash" not in await store.accounts.load(user_id or "")
    code, _, err = await run("user", "add", "pc-2", "--role", "officer", "--oidc", oidc, env=env)
    assert code == 1
    assert "already has an account" in err
    code, _, err = await run("user", "add", "pc-3", "--role", "officer", env=env)
    assert code == 2
    assert "--password-stdin (or --oidc" in err
    await store.factors.begin_totp(user_id or "", "JBSWY3DPEHPK3PXP")
    code, out, err = await run("user", "reset-mfa", "pc-olly", env=env)
    assert code == 0, err
    assert await store.factors.totp(user_id or "") == {}


async def test_a_page_opened_from_another_site_hops_once(anonymous: ApiClient) -> None:
    """A page navigated to from another site (Sec-Fetch-Site: cross-site), which brings no
    Strict session cookie, answers a page that opens it again from this site (and then the
    cookie comes); any other request without a session goes to sign in as before."""
    client = anonymous.client
    cross_site = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    for path in ("/console?x=1", "/"):
        hop = await client.get(path, headers=cross_site, allow_redirects=False)
        assert hop.status == 200
        page = await hop.text()
        assert '<meta http-equiv="refresh" content="0">' in page
        assert 'data-testid="cross-site-hop"' in page
        assert "no-store" in hop.headers["Cache-Control"]
    same_site = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    back = await client.get("/console", headers=same_site, allow_redirects=False)
    assert (back.status, back.headers["Location"]) == (303, "/?next=/console")


async def test_a_signed_in_page_opened_from_another_site_is_served(server: TestServer) -> None:
    """With the session cookie (a Lax or same-site arrival) the page is served at once."""
    user = await create_account(server.app, Role.CLINICIAN)
    api = await log_in(server, user)
    try:
        cross_site = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        page = await api.client.get("/console", headers=cross_site)
        assert page.status == 200
        assert 'data-testid="cross-site-hop"' not in await page.text()
    finally:
        await api.client.close()


@pytest.mark.slow  # runs the command line
async def test_demo_accounts_need_no_second_factor_and_say_so(tmp_path: Path) -> None:
    """`serve --demo-accounts` (what scripts/run starts) says at start-up that no role needs
    a second factor, and the demo supervisor signs in with the password alone."""
    servers: list[Server] = []
    try:
        await demo_supervisor_signs_in(servers, tmp_path)
    finally:
        for server in servers:
            if server.process.returncode is None:
                server.process.kill()
                await server.process.wait()


async def demo_supervisor_signs_in(servers: list[Server], tmp_path: Path) -> None:
    """Start serve with demo accounts and sign the supervisor in with its password."""
    started = await start_serve(servers, tmp_path / "var", "--demo-accounts")
    assert any("No role needs a second factor (demo accounts" in line for line in started.lines)
    password = started.demo_accounts()["supervisor"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{started.port}/api/v1/login",
            json={"username": "supervisor", "password": password},
        ) as answer,
    ):
        assert answer.status == 200
    assert await started.stop() == 0


def test_a_team_comes_from_its_claim() -> None:
    """A provider's `team_claim` gives a receiver's team (`SERVICE:BOARD` of a known board);
    a claim naming no such team refuses."""
    text = GOOD.replace(
        'boards_claim = "boards"\n', 'boards_claim = "boards"\nteam_claim = "team"\n'
    )
    board = parse_providers(text, board_ids=BOARDS)["board"]
    claims = {"sub": "r1", "groups": ["mh-clinicians"], "boards": ["lothian"]}
    found = identity_from_claims(board, {**claims, "team": "crisis_team:lothian"}, board_ids=BOARDS)
    assert found.team == "crisis_team:lothian"
    with pytest.raises(ClaimsRefused) as refused:
        identity_from_claims(board, {**claims, "team": "crisis_team:narnia"}, board_ids=BOARDS)
    assert refused.value.code == "no_team"


def test_a_look_alike_username_claim_is_not_used() -> None:
    """A username claim that breaks the username rules (a Cyrillic letter among Latin ones)
    gives way to one made from the provider and the subject; a plain one is kept, with
    `name.provider` as the fallback when it is taken."""
    board = parse_providers(GOOD, board_ids=BOARDS)["board"]
    look_alike = Identity("sub-1", "\u0430dmin", "Admin", Role.CLINICIAN, ("lothian",), None)
    first, second = usernames_for(board, look_alike)
    assert first.startswith("board-") and username_problem(first) is None
    assert second == f"{first}.board"
    plain = Identity("sub-2", "jane", "Jane", Role.CLINICIAN, ("lothian",), None)
    assert usernames_for(board, plain) == ("jane", "jane.board")


async def test_a_private_key_that_cannot_be_read_stops_the_start(
    tmp_path: Path, key_prefix: str
) -> None:
    """A provider whose private_key_file holds no private key stops the service at start-up,
    naming the provider."""
    key = tmp_path / "force.pem"
    key.write_text("not a key\n")
    providers = tmp_path / "oidc.toml"
    providers.write_text(GOOD.replace("/etc/triage/force.pem", str(key)))
    settings = Settings(redis_url=REDIS_URL, key_prefix=key_prefix, oidc_file=str(providers))
    server = TestServer(create_app(settings))
    with pytest.raises(RuntimeError, match=r"identity provider force: .*not a PEM private key"):
        await server.start_server()
    await server.close()
