"""`GET /api/v1/audit`: the access log, for admins, in pages."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.service.audit import (
    AuditQuery,
    check_cursor,
    check_limit,
    parse_time,
    read_entries,
)
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import STORE

routes = ApiRoutes()


@routes.endpoint("GET", "/api/v1/audit", summary="The access log", roles=(Role.ADMIN,))
async def get_audit(request: web.Request, sign_in: SignIn) -> web.Response:
    """Entries oldest first, filtered by request, user and time; `next_cursor` pages on."""
    q = request.query
    query = AuditQuery(
        request_id=q.get("request_id") or None,
        user_id=q.get("user_id") or None,
        from_ms=parse_time("from", q.get("from")),
        to_ms=parse_time("to", q.get("to")),
        cursor=check_cursor(q.get("cursor")),
        limit=check_limit(q.get("limit")),
    )
    entries, cursor = await read_entries(request.app[STORE], query)
    return answer({"entries": entries, "next_cursor": cursor})
