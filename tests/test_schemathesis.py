"""schemathesis against the live service: no 5xx for any generated input, and every answer
conforms to the OpenAPI document, for each role and for a client that is not signed in."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REDIS_URL, delete_keys
from live_server import free_port, serving

CONFIG = Path(__file__).with_name("schemathesis.toml")
ROLES = ("officer", "clinician", "supervisor", "admin")
CLI = [sys.executable, "-c", "from triage_service.cli import main; main()"]
# A few hundred generated cases in all: each run's budget per operation and phase.
EXAMPLES_PER_OPERATION = 2
# The coverage phase would send thousands (each sign-in among them costs an argon2 hash).
PHASES = "examples,fuzzing"
# /ws and /guest/live upgrade to WebSockets, which an HTTP fuzzer cannot drive.
EXCLUDED = ("/ws", "/guest/live")
# Hypothesis's table of the characters UTF-8 encodes, which `st` builds for its strings on
# every run and does not keep (a fifth of its CPU): built once here, in the folder `st` runs
# in (./.hypothesis/, where Hypothesis reads it).
UNICODE_TABLE = "from hypothesis.internal.charmap import intervals_from_codec as t; t('utf-8')"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The service on a free port with one account per role, under a fresh key prefix."""
    work = tmp_path_factory.mktemp("schemathesis")
    prefix = f"test-st-{secrets.token_hex(4)}:"
    settings = ["--redis-url", REDIS_URL, "--key-prefix", prefix]
    try:
        subprocess.run([sys.executable, "-c", UNICODE_TABLE], check=True, cwd=work, timeout=60)
        for role in ROLES:
            subprocess.run(
                [*CLI, "user", "add", f"st-{role}", "--role", role, "--password-stdin", *settings],
                input=f"{password_of(role)}\n".encode(),
                check=True,
                cwd=work,
                timeout=60,
            )
        port = free_port()
        # Supervisors and admins sign in with a password alone here (no second factor).
        serve = [*CLI, "serve", "--port", str(port), "--mfa-required-roles", "", *settings]
        # This checkout's code, as the test process imports it (PYTHONPATH kept).
        with serving(serve, port=port, cwd=work, env=dict(os.environ)) as base:
            yield base, work
    finally:
        delete_keys(prefix)


def password_of(role: str) -> str:
    """The password of the `st-{role}` account (strong, and not built from its name)."""
    return f"amber kestrel over the moor {ROLES.index(role)}"


def log_in(base: str, role: str) -> tuple[str, str]:
    """The session cookie's value and the CSRF token of a fresh sign-in."""
    body = json.dumps({"username": f"st-{role}", "password": password_of(role)}).encode()
    request = urllib.request.Request(
        base + "/api/v1/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        return cookie, json.load(r)["csrf_token"]


def config_for(work: Path, role: str | None, session: tuple[str, str] | None) -> Path:
    """The shared configuration plus, when signed in, the session and CSRF credentials as the
    document's security schemes (so schemathesis also tries without them)."""
    text = CONFIG.read_text()
    if session is not None:
        cookie, csrf = session
        text += f'\n[auth.openapi.session]\napi_key = "{cookie}"\n'
        text += f'\n[auth.openapi.csrf]\napi_key = "{csrf}"\n'
    path = work / f"schemathesis-{role or 'anonymous'}.toml"
    path.write_text(text)
    return path


@pytest.mark.timeout(300)
@pytest.mark.parametrize("role", [None, *ROLES])
def test_schemathesis_finds_nothing(live: tuple[str, Path], role: str | None) -> None:
    """Every check schemathesis has passes for generated requests, signed in as `role`."""
    base, work = live
    session = log_in(base, role) if role else None
    command = [str(Path(sys.executable).with_name("st")), "--no-color"]
    command += ["--config-file", str(config_for(work, role, session)), "run"]
    command += [f"{base}/api/v1/openapi.json", "--checks", "all", "--phases", PHASES]
    command += ["--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1", "--seed", "1"]
    command += ["--request-timeout", "10", "--no-shrink", "--warnings", "off"]
    for path in EXCLUDED:
        command += ["--exclude-path", path]
    if role:  # signing out would end the session the rest of the run uses
        command += ["--exclude-path", "/api/v1/logout"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=work, timeout=280)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
