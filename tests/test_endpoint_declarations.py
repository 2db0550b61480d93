"""A declaration of an endpoint does its work in `ApiRoutes.endpoint`: `idempotent=True`
hands the view the checked Idempotency-Key (a view cannot be declared idempotent without
taking it, nor take it undeclared, and no view builds the key by hand), `audited=` hands
it the access log to record its read in (and no view writes that log by hand), and a
declared answer model is the one its successes are made from."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from pydantic import BaseModel

from triage_service.domain.idempotency import Idempotency
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer, check_answer
from triage_service.web.audited import AccessLog

VIEWS = Path(__file__).resolve().parent.parent / "triage_service" / "web" / "views"


async def _keyed(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """A view that takes the change's key."""
    return web.Response()


async def _plain(request: web.Request, sign_in: SignIn) -> web.Response:
    """A view that does not."""
    return web.Response()


def test_an_idempotent_endpoint_needs_a_view_that_takes_the_key() -> None:
    """Declaring `idempotent=True` on a view without an `idempotency` parameter fails at
    import, and so does a view taking one on an endpoint not declared idempotent."""
    with pytest.raises(TypeError, match="idempotent"):
        ApiRoutes().endpoint("POST", "/x", summary="x", idempotent=True)(_plain)
    with pytest.raises(TypeError, match="idempotent"):
        ApiRoutes().endpoint("POST", "/x", summary="x")(_keyed)
    ApiRoutes().endpoint("POST", "/x", summary="x", idempotent=True)(_keyed)


def test_no_view_builds_the_idempotency_key_by_hand() -> None:
    """The views get the key from their declaration: none reads the header or imports the
    helper that builds it."""
    found = [
        path.name
        for path in sorted(VIEWS.glob("*.py"))
        if "web.idempotency" in (text := path.read_text()) or "headers.get(HEADER" in text
    ]
    assert found == []


class _Declared(BaseModel):
    """The answer model an endpoint declares."""

    status: str


class _Other(BaseModel):
    """Another model."""

    status: str


def test_an_endpoint_answers_only_its_declared_model() -> None:
    """A success answered with another model, or with a plain dict, is refused; the declared
    model passes, and so do error statuses (they have the error shape)."""
    routes = ApiRoutes()
    routes.endpoint("GET", "/x", summary="x", answer=_Declared)(_plain)
    (declared,) = routes.endpoints
    check_answer(declared, answer(_Declared(status="ok")))
    check_answer(declared, web.json_response({"error": {}}, status=404))
    with pytest.raises(TypeError, match="_Other"):
        check_answer(declared, answer(_Other(status="ok")))
    with pytest.raises(TypeError, match="NoneType"):
        check_answer(declared, web.json_response({"status": "ok"}))


async def _logged(request: web.Request, sign_in: SignIn, *, access: AccessLog) -> web.Response:
    """A view that records what it read."""
    return web.Response()


def test_an_audited_endpoint_needs_a_view_that_records_the_access() -> None:
    """`audited=` on a view without an `access` parameter fails at import, as does a view
    taking one on an endpoint not declared audited or not signed in."""
    with pytest.raises(TypeError, match="audited"):
        ApiRoutes().endpoint("GET", "/x", summary="x", audited="record")(_plain)
    with pytest.raises(TypeError, match="audited"):
        ApiRoutes().endpoint("GET", "/x", summary="x")(_logged)
    with pytest.raises(TypeError, match="audited"):
        ApiRoutes().endpoint("GET", "/x", summary="x", signed_in=False, audited="x")(_logged)
    ApiRoutes().endpoint("GET", "/x", summary="x", audited="record")(_logged)


def test_no_view_writes_the_access_log_by_hand() -> None:
    """The views record reads through the `AccessLog` their declaration gives them (the
    report page, not an endpoint, takes one the same way): none calls the audit service or
    reads the reason header itself."""
    found = [
        path.name
        for path in sorted(VIEWS.glob("*.py"))
        if "record_access" in (text := path.read_text()) or 'headers.get("X-Access' in text
    ]
    assert found == []
