"""Requests that never reach the application: a bad request line, a header over 8 KB, an
unsupported Content-Encoding, control bytes. aiohttp's HTTP parser refuses them before any
middleware runs, and by itself would answer in plain text with its version banner, echo the
offending bytes (a cookie among them) and log them with a traceback.

Here they are answered like every other error: the JSON error shape, the security headers,
no banner, nothing of the request echoed; and logged as one line naming only the kind of
fault, never the bytes, the headers or the client's address.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from triage_service.settings import Settings
from triage_service.web.errors import error_response
from triage_service.web.security import content_security_policy, fixed_headers

log = logging.getLogger(__name__)

# What the client is told, per kind of parser fault (never the bytes it sent).
FAULTS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (
        http_exceptions.LineTooLong,
        431,
        "header_too_large",
        "A request line or header is over 8 KB.",
    ),
    (
        http_exceptions.ContentEncodingError,
        415,
        "unsupported_encoding",
        "Send the body uncompressed, or as gzip, deflate or br.",
    ),
    (http_exceptions.BadHttpMethod, 400, "bad_request", "The request line is malformed."),
    (http_exceptions.InvalidURLError, 400, "bad_request", "The request target is malformed."),
    (http_exceptions.BadHttpMessage, 400, "bad_request", "The request could not be read."),
)


def parser_fault(exc: BaseException | None, status: int) -> tuple[int, str, str]:
    """The status, code and message for a request the parser refused (or a server fault)."""
    for kind, fault_status, code, message in FAULTS:
        if isinstance(exc, kind):
            return fault_status, code, message
    if status >= 500:
        return status, "internal_error", "Something went wrong on our side."
    return status, "bad_request", "The request could not be read."


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler with errors answered and logged the service's way."""

    settings: Settings

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The JSON error with the security headers; one log line without request data."""
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has started; the connection is dropped")
        status, code, text = parser_fault(exc, status)
        if status >= 500:
            log.error("unhandled %s on a connection", type(exc).__name__, exc_info=exc)
        else:
            log.info("refused an unreadable request (%s)", type(exc).__name__)
        response = error_response(status, code, text)
        response.headers.update(fixed_headers(self.settings))
        response.headers["Content-Security-Policy"] = content_security_policy(
            self.settings, self.transport
        )
        response.headers["Cache-Control"] = "no-store"
        response.force_close()
        return response


class GuardedServer(web.Server):
    """aiohttp's low-level server, its connections handled by GuardedRequestHandler."""

    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings

    def __call__(self) -> RequestHandler:
        """A handler for one new connection."""
        handler = GuardedRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.settings = self.settings
        return handler


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server is a GuardedServer."""

    def __init__(self, app: web.Application, settings: Settings, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.settings = settings

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return GuardedServer(
            self.settings,
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            **plain._kwargs,
        )
