"""API errors and the middleware that renders every failure in the contract's JSON shape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError
from pydantic import ValidationError

from triage_service.cpu import store_deadline
from triage_service.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
)
from triage_service.store import STORE_ERRORS, unavailable_reason
from triage_service.web.templates import JINJA

log = logging.getLogger(__name__)
# A body that cannot be read as sent: bad compression, cut short, malformed chunks.
BODY_ERRORS: tuple[type[Exception], ...] = (HttpProcessingError, RequestPayloadError)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error the client caused or may act on, with its HTTP status and stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        # More members of the error object (e.g. the `enrolment_token` of a sign-in).
        self.extra = extra or {}


def not_found(what: str = "request") -> ApiError:
    """The 404 for a missing object or one the user may not see."""
    return ApiError(404, "not_found", f"No such {what}.")


def invalid(code: str, message: str, fields: dict[str, str]) -> ApiError:
    """A 422 naming the offending fields."""
    return ApiError(422, code, message, fields=fields)


# Validation failures that carry a code of their own when they are the only problem.
DOMAIN_CODES = {
    "consent_required": "Record the person's consent: given, lacks_capacity or declined.",
    "capacity_note_required": "Say why the person lacks capacity to consent.",
    "invalid_chi": "The CHI number is not valid: check it, or leave it out.",
}


def from_validation(error: ValidationError) -> ApiError:
    """A pydantic error as a 422 with one line per field path."""
    fields: dict[str, str] = {}
    items = error.errors(include_url=False)
    for item in items:
        path = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(path, item["msg"])
    if len(items) == 1 and items[0]["type"] in DOMAIN_CODES:
        return invalid(items[0]["type"], DOMAIN_CODES[items[0]["type"]], fields)
    return invalid("validation_error", "Some fields are missing or invalid.", fields)


# Answers that may rightly take long: the live channel, streamed exports, and the connection
# test (its aiortc peer gathers ICE candidates under limits of its own).
UNBOUNDED_PATHS = ("/ws", "/api/v1/stats/export", "/api/v1/connection-test")


def deadline_middleware(deadline_s: float, body_timeout_s: float) -> Middleware:
    """Bound every other request, so a store that stops answering yields 503s, not hangs
    (CPU work in the pool, password hashing, does not count against the deadline); a body
    that does not arrive within `body_timeout_s` is a 408 (the client's fault)."""

    @web.middleware
    async def bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.can_read_body and request.content.is_eof():
            await request.read()  # all here already (a small body): nothing to wait for
        elif request.can_read_body:
            try:
                async with asyncio.timeout(body_timeout_s):
                    await request.read()  # bounded by client_max_size; kept for the view
            except TimeoutError:
                response = error_response(408, "request_timeout", "The body arrived too slowly.")
                response.force_close()
                return response
        if request.path.startswith(UNBOUNDED_PATHS):
            return await handler(request)
        async with store_deadline(deadline_s):
            return await handler(request)

    return bounded


# Paths that answer JSON even when nothing is there; anything else is a page path.
JSON_PATHS = ("/api/", "/ws", "/static/", "/metrics", "/healthz", "/readyz")


def is_page_path(path: str) -> bool:
    """Whether a browser typed this path (a page), as opposed to an API or asset request."""
    return not path.startswith(JSON_PATHS)


def not_found_page(request: web.Request) -> web.Response:
    """The HTML not-found page, for a mistyped page address."""
    page = (
        request.app[JINJA]
        .get_template("not_found.html")
        .render(user=None, csrf_token="", settings=None)
    )
    return web.Response(text=page, status=404, content_type="text/html")


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    """The contract's error body."""
    body: dict[str, Any] = {**(extra or {}), "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return web.json_response({"error": body}, status=status, headers=headers)


def domain_response(error: DomainError) -> web.Response:
    """A domain error as its status code: 404, 409, 422 with the fields, 429 with Retry-After."""
    if isinstance(error, Invalid):
        return error_response(422, error.code, error.message, fields=error.fields)
    if isinstance(error, RateLimited):
        return error_response(
            429, error.code, error.message, headers={"Retry-After": str(error.retry_after_s)}
        )
    if isinstance(error, Forbidden):
        return error_response(403, error.code, error.message)
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 400
    return error_response(status, error.code, error.message)


def unreadable_body(request: web.Request, error: Exception) -> web.Response:
    """A 400 for a body that cannot be decoded; the connection closes after it, and the rest
    of the body is not read (reading it would only fail again)."""
    request.content.feed_eof()
    response = error_response(400, "bad_request", f"The body could not be read: {error}")
    response.force_close()
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the JSON error shape; every 503 says when to retry."""
    response = await _render_failures(request, handler)
    if response.status == 503 and not response.prepared:
        response.headers.setdefault("Retry-After", "1")
    return response


async def _render_failures(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's answer, or its failure in the JSON error shape; log only the unexpected."""
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(
            e.status, e.code, e.message, fields=e.fields, headers=e.headers, extra=e.extra
        )
    except DomainError as e:
        return domain_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        if e.status == 404 and request.method in ("GET", "HEAD") and is_page_path(request.path):
            return not_found_page(request)
        code = _HTTP_CODES.get(e.status, "http_error")
        headers = {k: v for k, v in e.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(e.status, code, e.reason, headers=headers)
    except BODY_ERRORS as e:
        return unreadable_body(request, e)
    except TimeoutError:
        log.warning("no answer within the deadline on %s %s", request.method, request.path)
        return error_response(
            503,
            "unavailable",
            "The service did not answer in time; try again shortly.",
            headers={"Retry-After": "1"},
        )
    except STORE_ERRORS as e:
        return _store_failure(request, e)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")


def _store_failure(request: web.Request, error: Exception) -> web.Response:
    """503 with Retry-After when the store itself cannot serve (unreachable, out of memory,
    read-only, loading, busy); anything else the store said is unexpected: 500."""
    reason = unavailable_reason(error)
    if reason is None:
        log.exception("unexpected store error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")
    log.warning("store %s on %s %s: %s", reason, request.method, request.path, error)
    return error_response(
        503,
        "unavailable",
        "The service cannot use its store right now; try again shortly.",
        headers={"Retry-After": "1"},
    )
