"""Declaring REST endpoints once: route, roles, query, body and answer models, other statuses.

The same declarations check every request and generate the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from triage_service.domain.answers import ErrorOut
from triage_service.domain.codes import Role
from triage_service.service.sessions import SignIn
from triage_service.web.auth import USER, check_csrf, require
from triage_service.web.errors import ApiError, from_validation

B = TypeVar("B", bound=BaseModel)
View = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST operation as documented in OpenAPI."""

    method: str
    path: str
    summary: str
    roles: frozenset[Role] | None
    body: type[BaseModel] | None
    answer: type[BaseModel] | None
    status: int
    signed_in: bool
    query: type[BaseModel] | None = None
    # Statuses the view itself may answer, beyond those the declaration implies.
    errors: Mapping[int, str] = field(default_factory=dict)
    # False only where no Redis is read, so no 503 can come (the session cookie aside).
    store: bool = True
    # The answer's media type when it is not JSON (CSV, NDJSON, Prometheus text).
    media: str | None = None
    # Other success statuses with the same answer (e.g. 200 for a repeated Idempotency-Key).
    also_ok: tuple[int, ...] = ()
    # The body of every error status (the contract's error shape but for /healthz).
    failure: type[BaseModel] = ErrorOut
    # Honours the optional `Idempotency-Key` header (a repeat answers the first change).
    idempotent: bool = False


ENDPOINTS = web.AppKey("endpoints", list[Endpoint])


class ApiRoutes(web.RouteTableDef):
    """A route table that also records each endpoint for the OpenAPI document."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: list[Endpoint] = []

    def endpoint(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        roles: tuple[Role, ...] | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        answer: type[BaseModel] | None = None,
        status: int = 200,
        signed_in: bool = True,
        errors: Mapping[int, str] | None = None,
        store: bool = True,
        media: str | None = None,
        also_ok: tuple[int, ...] = (),
        failure: type[BaseModel] = ErrorOut,
        idempotent: bool = False,
    ) -> Callable[[View], View]:
        """Register a view called as `view(request[, sign_in][, query][, body])` after the
        checks.

        Checks run in the contract's order: signed in (401), role (403), CSRF (403), then the
        query is validated (422) and the body parsed (400) and validated (422). `errors` lists
        the other statuses the view answers, for the OpenAPI document.
        """
        allowed = frozenset(roles) if roles else None
        self.endpoints.append(
            Endpoint(
                method,
                path,
                summary,
                allowed,
                body,
                answer,
                status,
                signed_in,
                query=query,
                errors=dict(errors or {}),
                store=store,
                media=media,
                also_ok=also_ok,
                failure=failure,
                idempotent=idempotent,
            )
        )

        def decorate(view: View) -> View:
            async def checked(request: web.Request) -> web.StreamResponse:
                args: list[Any] = []
                if signed_in:
                    sign_in = require(request[USER], allowed)
                    check_csrf(request, sign_in)
                    args.append(sign_in)
                if query is not None:
                    args.append(parse_query(request, query))
                if body is not None:
                    args.append(await parse_body(request, body))
                return await view(request, *args)

            checked.__doc__ = view.__doc__
            self.route(method, path)(checked)
            return view

        return decorate


def parse_query(request: web.Request, model: type[B]) -> B:
    """The query parameters validated by `model` (the first value of a repeated one); 422
    naming the parameter."""
    try:
        return model.model_validate({name: request.query[name] for name in request.query})
    except ValidationError as e:
        raise from_validation(e) from e


async def parse_body(request: web.Request, model: type[B]) -> B:
    """The JSON body validated by `model`: 415 unless sent as application/json, 400 if it is
    not JSON, 422 if a field is wrong.

    An empty body counts as `{}`, so a missing required field is named in the 422.
    """
    raw = await request.read()
    if raw.strip() and request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as e:  # bad JSON or bytes, too deep, too many digits
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise from_validation(e) from e


def answer(model: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    """A JSON response from a model (exclude nothing: the model already fits the reader)."""
    if isinstance(model, BaseModel):
        body = model.model_dump_json(exclude_none=False)
        return web.Response(text=body, status=status, content_type="application/json")
    return web.json_response(model, status=status)


def signed_in(request: web.Request) -> SignIn:
    """The session of a request that already passed `require` (for non-endpoint views)."""
    return require(request[USER], None)
