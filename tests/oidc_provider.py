"""A real OpenID Connect provider for the identity tests (the npm `oidc-provider` package run by
node from tests/oidc/provider.mjs), the providers file the service reads for it, and a
scripted walk through its sign-in form."""

from __future__ import annotations

import contextlib
import json
import re
import select
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from joserfc.jwk import RSAKey

from live_server import free_port

HERE = Path(__file__).resolve().parent / "oidc"
START_TIMEOUT_S = 20.0
SECRET = "test-client-secret-of-the-board-0123456789"
OTHER_SECRET = "test-client-secret-of-another-service-0123"
# The people the provider knows: sub -> claims (any password signs them in).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "clara": {
        "name": "Clara Clinician",
        "preferred_username": "clara",
        "triage_roles": ["staff", "mh-clinician"],
        "triage_boards": ["lothian"],
    },
    "sam": {
        "name": "Sam Supervisor",
        "preferred_username": "sam",
        "triage_roles": ["mh-supervisor"],
        "triage_boards": ["lothian"],
    },
    "olly": {"name": "PC Olly Officer", "preferred_username": "olly"},
    "nadia": {"name": "Nadia No-Role", "preferred_username": "nadia", "triage_roles": ["hr"]},
    "bea": {
        "name": "Bea Boardless",
        "preferred_username": "bea",
        "triage_roles": ["mh-clinician"],
        "triage_boards": ["highland"],
    },
}
AREAS = """
[boards.lothian]
name = "NHS Lothian"
areas = [{id = "edinburgh", name = "Edinburgh", phone_fallback = "0131 000 0000"}]

[boards.glasgow]
name = "NHS Greater Glasgow and Clyde"
areas = [{id = "glasgow", name = "Glasgow City Centre", phone_fallback = "0141 000 0000"}]
"""


@dataclass(frozen=True, slots=True)
class LocalProvider:
    """The running provider: its issuer and the service's files that point at it."""

    issuer: str
    oidc_file: Path
    areas_file: Path
    service_port: int


def client_metadata(service_port: int, path: str, **more: Any) -> dict[str, Any]:
    """A client registered for the service on `service_port` under both names of this host
    (the browser tests use `localhost`, a different site from the provider's 127.0.0.1)."""
    origins = [f"http://localhost:{service_port}", f"http://127.0.0.1:{service_port}"]
    return {
        "redirect_uris": [f"{o}/auth/oidc/{path}/callback" for o in origins],
        "post_logout_redirect_uris": [f"{o}/" for o in origins],
        **more,
    }


def providers_toml(issuer: str, key_file: Path) -> str:
    """The service's providers file: a health board (client secret, roles and boards from
    claims, accounts created on first sign-in) and a police force (private-key JWT, fixed
    officer role, pre-provisioned accounts only)."""
    return f"""
[board]
name = "NHS Lothian"
issuer = "{issuer}"
client_id = "triage"
client_secret = "{SECRET}"
scopes = ["openid", "profile", "email", "triage"]
role_claim = "triage_roles"
boards_claim = "triage_boards"
create_accounts = true

[board.roles]
mh-supervisor = "supervisor"
mh-clinician = "clinician"

[force]
name = "Police Scotland"
issuer = "{issuer}"
client_id = "triage-force"
private_key_file = "{key_file}"
scopes = ["openid", "profile"]
role = "officer"
create_accounts = false
"""


@contextlib.contextmanager
def running_provider(work: Path, *, id_token_ttl_s: int = 3600) -> Iterator[LocalProvider]:
    """Start the provider on a free port with the board's, the force's and another
    service's clients registered for a service that will listen on `service_port`."""
    port, service_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, private=True)
    key_file = work / "force-key.pem"
    key_file.write_bytes(key.as_pem(private=True))
    public = {**key.as_dict(private=False), "kid": key.thumbprint(), "use": "sig"}
    clients = [
        client_metadata(service_port, "board", client_id="triage", client_secret=SECRET),
        client_metadata(
            service_port,
            "force",
            client_id="triage-force",
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [public]},
        ),
        client_metadata(service_port, "other", client_id="other", client_secret=OTHER_SECRET),
    ]
    config = work / "provider.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "issuer": issuer,
                "clients": clients,
                "accounts": ACCOUNTS,
                "id_token_ttl_s": id_token_ttl_s,
            }
        )
    )
    oidc_file, areas_file = work / "oidc.toml", work / "areas.toml"
    oidc_file.write_text(providers_toml(issuer, key_file))
    areas_file.write_text(AREAS)
    with _node(config) as _:
        yield LocalProvider(issuer, oidc_file, areas_file, service_port)


@contextlib.contextmanager
def _node(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), str(config)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        assert process.stdout is not None
        process.stdout.close()


def _wait_ready(process: subprocess.Popen[bytes]) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready and process.stdout.readline().strip() == b"ready":
            return
        if process.poll() is not None:
            raise AssertionError(f"the OpenID provider exited {process.returncode}")
    raise AssertionError("the OpenID provider did not start")


async def sign_in_at_provider(
    http: aiohttp.ClientSession, url: str, *, login: str, until: str
) -> str:
    """Follow an authorization URL through the provider's sign-in form as `login` (any
    password); the URL it finally sends the browser to, which starts with `until`."""
    for _ in range(20):
        async with http.get(url, allow_redirects=False) as response:
            if response.status in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if url.startswith(until):
                    return url
                continue
            page = await response.text()
        action = re.search(r'<form[^>]*action="([^"]+)"', page)
        assert action, f"no sign-in form at {url}: {page[:300]}"
        form = {"prompt": "login", "login": login, "password": "any password"}
        async with http.post(urljoin(url, action[1]), data=form, allow_redirects=False) as r:
            url = urljoin(url, r.headers["Location"])
        if url.startswith(until):
            return url
    raise AssertionError("the provider never sent the browser back")


def query_of(url: str) -> Mapping[str, str]:
    """The query parameters of `url` (first value of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def provider_browser() -> aiohttp.ClientSession:
    """An HTTP client keeping the provider's cookies (its host is an IP address)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
