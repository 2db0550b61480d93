"""`GET /api/v1/audit`: the access log, for admins, in pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from triage_service.domain.codes import Role
from triage_service.domain.queries import Query
from triage_service.service.audit import PAGE_MAX, AuditQuery, check_cursor, read_entries
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import STORE

routes = ApiRoutes()


def _any_time(value: object) -> datetime:
    """An ISO 8601 time of any year (naive means UTC): the log may hold old entries."""
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError as e:
        raise PydanticCustomError("iso_time", "must be an ISO 8601 time") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


AuditTime = Annotated[
    datetime, PlainValidator(_any_time), WithJsonSchema({"type": "string", "format": "date-time"})
]


class AuditParams(Query):
    """The access log's filters and paging, as sent in the query string."""

    request_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=64)
    from_: AuditTime | None = Field(default=None, alias="from")
    to: AuditTime | None = None
    cursor: str | None = Field(default=None, description="the previous page's next_cursor")
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)


class AuditPage(BaseModel):
    """A page of the access log, oldest first; `next_cursor` asks for the next (null: the
    last page)."""

    entries: list[dict[str, Any]]
    next_cursor: str | None


@routes.endpoint(
    "GET",
    "/api/v1/audit",
    summary="The access log",
    roles=(Role.ADMIN,),
    query=AuditParams,
    answer=AuditPage,
)
async def get_audit(request: web.Request, sign_in: SignIn, params: AuditParams) -> web.Response:
    """Entries oldest first, filtered by request, user and time; `next_cursor` pages on."""
    query = AuditQuery(
        request_id=params.request_id or None,
        user_id=params.user_id or None,
        from_ms=int(params.from_.timestamp() * 1000) if params.from_ else None,
        to_ms=int(params.to.timestamp() * 1000) if params.to else None,
        cursor=check_cursor(params.cursor),
        limit=params.limit,
    )
    entries, cursor = await read_entries(request.app[STORE], query)
    return answer(AuditPage(entries=entries, next_cursor=cursor))
