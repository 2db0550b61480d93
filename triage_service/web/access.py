"""Request ids and the access log: one line per request, with no personal data in it."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from triage_service.logs import REQUEST_ID
from triage_service.settings import Settings
from triage_service.web.errors import Handler

ACCESS_LOG = logging.getLogger("triage_service.access")
REQUEST_ID_HEADER = "X-Request-Id"
# An id sent by a proxy in front is kept (so its logs and ours line up) if it looks like one.
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id and return it in `X-Request-Id` (also on redirects)."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = sent if SAFE_ID.fullmatch(sent) else secrets.token_hex(8)
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as e:
        e.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        REQUEST_ID.reset(token)
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


class AccessLog(AbstractAccessLogger):
    """`METHOD PATH STATUS BYTES MS id=REQUEST_ID`: the path without its query string, and
    no address, cookie, header or body."""

    @property
    def enabled(self) -> bool:
        """Whether the access logger would write INFO lines at all."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the line for one answered request."""
        request_id = response.headers.get(REQUEST_ID_HEADER, "-")
        self.logger.info(
            "%s %s %d %dB %.1fms id=%s",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time * 1000,
            request_id,
            extra={"request_id": request_id if request_id != "-" else None},
        )


def access_log_options(settings: Settings) -> dict[str, Any]:
    """The `web.run_app` (or `AppRunner`) arguments for the configured access log."""
    if not settings.access_log:
        return {"access_log": None}
    return {"access_log_class": AccessLog, "access_log": ACCESS_LOG}
