"""The `Idempotency-Key` header of a state change (POST, PATCH), checked and tied to its change."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from triage_service.domain.idempotency import HEADER, Idempotency, check_key, scope_of
from triage_service.service.sessions import SignIn


def header_key(request: web.Request) -> str | None:
    """The header's key (422 unless 1-128 printable ASCII characters), or None without one."""
    key = request.headers.get(HEADER)
    return None if key is None else check_key(key)


def idempotency(
    request: web.Request, sign_in: SignIn, body: BaseModel | None = None
) -> Idempotency | None:
    """The signed-in user's key for this change (its method, path and canonical body), or
    None."""
    key = header_key(request)
    if key is None:
        return None
    canonical = body.model_dump_json() if body is not None else ""
    return Idempotency(sign_in.user.id, key, scope_of(request.method, request.path, canonical))
