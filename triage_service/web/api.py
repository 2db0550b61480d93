"""Declaring REST endpoints once: route, roles, query, body and answer models, other statuses.

The same declarations check every request and generate the OpenAPI document.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from triage_service.domain.answers import ErrorOut
from triage_service.domain.codes import Role
from triage_service.service.sessions import SignIn
from triage_service.web.audited import AccessLog
from triage_service.web.auth import USER, check_csrf, require
from triage_service.web.errors import ApiError, from_validation
from triage_service.web.idempotency import idempotency as request_idempotency

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
    # An audited read: the kind of access its view records in the access log.
    audited: str | None = None


ENDPOINTS = web.AppKey("endpoints", list[Endpoint])
# The answer model a response was made from (`answer`), for `check_answer`.
ANSWER = web.ResponseKey("answer", BaseModel)


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
        audited: str | None = None,
    ) -> Callable[[View], View]:
        """Register a view called as `view(request[, sign_in][, query][, body])` after the
        checks.

        Checks run in the contract's order: signed in (401), role (403), CSRF (403), then the
        query is validated (422) and the body parsed (400) and validated (422). `errors` lists
        the other statuses the view answers, for the OpenAPI document. An `idempotent` one
        also checks the `Idempotency-Key` header (422) and passes the view the change's
        `idempotency` (None without the header), keyword-only; its view must take it. An
        `audited` one passes the view an `access` log (web/audited.py) to record what it read,
        and refuses a success that recorded nothing.
        """
        allowed = frozenset(roles) if roles else None
        declared = Endpoint(
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
            audited=audited,
        )
        self.endpoints.append(declared)

        def decorate(view: View) -> View:
            _check_view(declared, inspect.signature(view).parameters)

            async def checked(request: web.Request) -> web.StreamResponse:
                args: list[Any] = []
                sign_in = None
                if signed_in:
                    sign_in = require(request[USER], allowed)
                    check_csrf(request, sign_in)
                    args.append(sign_in)
                if query is not None:
                    args.append(parse_query(request, query))
                parsed = await parse_body(request, body) if body is not None else None
                if parsed is not None:
                    args.append(parsed)
                given: dict[str, Any] = {}
                if idempotent and sign_in is not None:
                    given["idempotency"] = request_idempotency(request, sign_in, parsed)
                if audited and sign_in is not None:
                    given["access"] = access = AccessLog.of(request, sign_in.user, audited)
                response = await view(request, *args, **given)
                if audited and _succeeded(declared, response) and not access.recorded:
                    raise TypeError(f"{method} {path} answered without recording the access")
                check_answer(declared, response)
                return response

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


def answer(
    model: BaseModel,
    status: int = 200,
    *,
    exclude_none: bool = False,
    exclude_unset: bool = False,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A JSON response from an answer model (by default excluding nothing: the model already
    fits the reader), marked with the model so its endpoint can check it is the declared one."""
    body = model.model_dump_json(exclude_none=exclude_none, exclude_unset=exclude_unset)
    response = web.Response(
        text=body, status=status, content_type="application/json", headers=headers
    )
    response[ANSWER] = model
    return response


def _check_view(endpoint: Endpoint, parameters: Mapping[str, Any]) -> None:
    """A view takes `idempotency` exactly when its endpoint is declared idempotent, and
    `access` exactly when it is audited (both need a signed-in reader): TypeError at import
    otherwise."""
    for name, declared in (("idempotency", endpoint.idempotent), ("access", endpoint.audited)):
        if (name in parameters) != bool(declared) or (declared and not endpoint.signed_in):
            raise TypeError(
                f"{endpoint.method} {endpoint.path}: a view takes `{name}` exactly when its "
                "signed-in endpoint is declared idempotent (idempotency) or audited (access)"
            )


def _succeeded(endpoint: Endpoint, response: web.StreamResponse) -> bool:
    return response.status in (endpoint.status, *endpoint.also_ok)


def check_answer(endpoint: Endpoint, response: web.StreamResponse) -> None:
    """A JSON success of an endpoint that declares its answer model must be an `answer` of
    that model (TypeError otherwise: the OpenAPI document would not describe it)."""
    success = _succeeded(endpoint, response)
    if endpoint.answer is None or endpoint.media is not None or not success:
        return
    given = response.get(ANSWER)
    if not isinstance(given, endpoint.answer):
        raise TypeError(
            f"{endpoint.method} {endpoint.path} answered {type(given).__name__}, "
            f"not its declared {endpoint.answer.__name__}"
        )


def signed_in(request: web.Request) -> SignIn:
    """The session of a request that already passed `require` (for non-endpoint views)."""
    return require(request[USER], None)
