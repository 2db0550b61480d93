"""Cross-site request forgery defences: JSON bodies only, and an Origin check on changes."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conftest import PASSWORD, ApiClient, SignInFactory, create_account
from triage_service.domain.codes import Role
from triage_service.web.tls import self_signed_context


async def test_login_with_text_plain_body_is_415(server: TestServer, anonymous: ApiClient) -> None:
    """A sign-in posted as text/plain (what a cross-site form can send) is refused with 415
    and sets no session cookie."""
    user = await create_account(server.app, Role.OFFICER)
    body = json.dumps({"username": user.username, "password": PASSWORD})
    async with anonymous.client.post(
        "/api/v1/login", data=body, headers={"Content-Type": "text/plain"}
    ) as r:
        assert r.status == 415
        assert (await r.json())["error"]["code"] == "unsupported_media_type"
        assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_login_from_another_origin_is_403(
    server: TestServer, anonymous: ApiClient, origin: str
) -> None:
    """A sign-in whose Origin is not this service is 403 bad_origin, whatever the password."""
    user = await create_account(server.app, Role.OFFICER)
    async with anonymous.client.post(
        "/api/v1/login",
        json={"username": user.username, "password": PASSWORD},
        headers={"Origin": origin},
    ) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "bad_origin"
        assert "Set-Cookie" not in r.headers


async def test_login_from_own_origin_works(server: TestServer, anonymous: ApiClient) -> None:
    """A sign-in from this service's own page (Origin = its host) succeeds."""
    user = await create_account(server.app, Role.OFFICER)
    origin = str(server.make_url("")).rstrip("/")
    async with anonymous.client.post(
        "/api/v1/login",
        json={"username": user.username, "password": PASSWORD},
        headers={"Origin": origin},
    ) as r:
        assert r.status == 200


@pytest.mark.settings(public_origin="https://triage.example")
async def test_public_origin_is_accepted(server: TestServer, anonymous: ApiClient) -> None:
    """Behind a proxy, the configured public origin counts as this service."""
    user = await create_account(server.app, Role.OFFICER)
    status, _ = await anonymous.call(
        "POST",
        "/api/v1/login",
        {"username": user.username, "password": PASSWORD},
        headers={"Origin": "https://triage.example"},
    )
    assert status == 200


async def test_signed_in_change_from_another_origin_is_403(sign_in: SignInFactory) -> None:
    """Every non-GET is checked: a signed-in POST with a foreign Origin is 403 bad_origin,
    even with the right CSRF token; a GET from anywhere is still served."""
    clinician = await sign_in("clinician")
    status, body = await clinician.call(
        "PUT",
        "/api/v1/availability",
        {"status": "available"},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403 and body["error"]["code"] == "bad_origin"
    status, _ = await clinician.call(
        "GET", "/api/v1/me", headers={"Origin": "https://evil.example"}
    )
    assert status == 200


async def test_redirects_carry_the_security_headers(anonymous: ApiClient) -> None:
    """A 303 to the sign-in page carries CSP, nosniff and framing headers like any answer."""
    async with anonymous.client.get("/officer", allow_redirects=False) as r:
        assert r.status == 303
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/js/api.js", "/nope", "/officer"])
async def test_server_header_names_no_versions(anonymous: ApiClient, path: str) -> None:
    """No answer says which Python or aiohttp runs the service."""
    async with anonymous.client.get(path, allow_redirects=False) as r:
        server = r.headers.get("Server", "")
        assert "Python" not in server and "aiohttp" not in server, server


async def test_csp_connects_only_to_this_service(server: TestServer, anonymous: ApiClient) -> None:
    """connect-src allows 'self' and this host's ws: origin, not every ws:/wss: host."""
    async with anonymous.client.get("/") as r:
        csp = r.headers["Content-Security-Policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert connect == ["connect-src", "'self'", f"ws://{server.host}:{server.port}"]


@pytest.mark.settings(public_origin="https://triage.example")
async def test_csp_uses_the_public_origin(anonymous: ApiClient) -> None:
    """Behind a TLS proxy the socket source is wss:// on the public origin."""
    async with anonymous.client.get("/") as r:
        assert "connect-src 'self' wss://triage.example;" in r.headers["Content-Security-Policy"]


async def test_pages_are_not_stored(sign_in: SignInFactory, anonymous: ApiClient) -> None:
    """Pages (they embed the CSRF token) and API answers are Cache-Control: no-store."""
    officer = await sign_in("officer")
    async with officer.client.get("/officer") as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    async with anonymous.client.get("/") as r:
        assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.settings(self_signed=True)
async def test_session_cookie_is_secure_and_host_prefixed_under_tls(
    app: web.Application, tmp_path: Path
) -> None:
    """Served over TLS, sign-in sets `__Host-triage_session` with Secure, HttpOnly,
    SameSite=Strict, Path=/ and no Domain; the answers carry HSTS; that cookie signs the
    browser in and a cookie without the prefix does not."""
    https = TestServer(app, ssl=self_signed_context(tmp_path, "127.0.0.1"))
    await https.start_server()
    user = await create_account(app, Role.OFFICER)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
            login = {"username": user.username, "password": PASSWORD}
            async with http.post(https.make_url("/api/v1/login"), json=login) as r:
                assert r.status == 200, await r.text()
                assert r.headers["Strict-Transport-Security"].startswith("max-age=")
                set_cookie = r.headers["Set-Cookie"]
                token = r.cookies["__Host-triage_session"].value
            attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
            assert set_cookie.startswith("__Host-triage_session=")
            assert {"secure", "httponly", "samesite", "path"} <= attributes
            assert "domain" not in attributes and "Path=/" in set_cookie
            assert "SameSite=Strict" in set_cookie
            for name, status in (("__Host-triage_session", 200), ("triage_session", 401)):
                async with http.get(
                    https.make_url("/api/v1/me"), headers={"Cookie": f"{name}={token}"}
                ) as r:
                    assert r.status == status, name
    finally:
        await https.close()
