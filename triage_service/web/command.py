"""`triage-service serve`: the web application until interrupted, with the demo accounts
when asked for."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import sys
from collections.abc import Callable

from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.service.accounts import add_user, count_users
from triage_service.service.migrations import SchemaError
from triage_service.service.passwords import password_problem
from triage_service.settings import Settings
from triage_service.store.store import StoreError
from triage_service.web.app import create_app
from triage_service.web.serving import serve_until_stopped
from triage_service.web.state import STORE
from triage_service.web.tls import self_signed_context

DEMO_ROLES = (Role.OFFICER, Role.CLINICIAN, Role.SUPERVISOR)


def serve(settings: Settings) -> None:
    """Run the server until interrupted."""
    app = create_app(settings)
    if settings.demo_accounts:
        app.on_startup.append(create_demo_accounts)
    if settings.demo_accounts and settings.mfa_required_roles.strip() == "auto":
        print(
            "No role needs a second factor (demo accounts; set TRIAGE_MFA_REQUIRED_ROLES, "
            "e.g. admin,supervisor, to require one).",
            flush=True,
        )
    ssl_context: ssl.SSLContext | None = None
    if settings.tls_cert and settings.tls_key:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(settings.tls_cert, settings.tls_key)
    elif settings.self_signed:
        ssl_context = self_signed_context(settings.data_path, settings.host)
    try:
        asyncio.run(
            serve_until_stopped(
                app, settings, ssl_context=ssl_context, announce=_announce(settings)
            )
        )
    except StoreError as e:
        print(f"triage-service: {e}", file=sys.stderr)
        raise SystemExit(1) from e
    except SchemaError as e:
        print(f"triage-service: {e}", file=sys.stderr)
        raise SystemExit(2) from e


def _announce(settings: Settings) -> Callable[[], None]:
    scheme = "https" if settings.tls else "http"

    def announce() -> None:
        print(f"triage-service listening on {scheme}://{settings.host}:{settings.port}", flush=True)

    return announce


async def create_demo_accounts(app: web.Application) -> None:
    """On an empty store, create one account per role and print the passwords once."""
    store = app[STORE]
    if await count_users(store):
        return
    lines = []
    for role in DEMO_ROLES:
        name = f"Demo {role.value.title()}"
        password = demo_password(role.value, name)
        await add_user(store, username=role.value, role=role, password=password, display_name=name)
        lines.append(f"  {role.value:<11} username {role.value:<11} password {password}")
    print("Demo accounts (shown once):\n" + "\n".join(lines), flush=True)


def demo_password(username: str, display_name: str) -> str:
    """A random password the password rules accept (a random one nearly always is)."""
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(password, username=username, context=[display_name]) is None:
            return password
