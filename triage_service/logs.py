"""Log output: one JSON object per line (time, level, logger, message, request id) for
collectors, or plain text for people; neither carries personal data (the messages never
hold any, and nothing else of the record is written).

Both formats keep one record per line whatever a message holds (a path with an encoded
newline cannot forge a record), and blank out session cookies, bearer tokens and CSRF
tokens should a library's message ever include them."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The id of the HTTP request being handled, set by web/access.py's middleware.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
SECRETS = re.compile(
    r"((?:__Host-)?triage_session=|bearer\s+|x-csrf-token[\"']?\s*[:=]\s*[\"']?)[^\s;,\"'\\]+",
    re.IGNORECASE,
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def redact(text: str) -> str:
    """`text` with session cookies, bearer tokens and CSRF tokens replaced by `<redacted>`."""
    return SECRETS.sub(r"\1<redacted>", text)


def one_line(text: str) -> str:
    """`text` with newlines and other control characters escaped (`\\n`, `\\x1b`)."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`: the message on one line; a traceback, if any, follows
    with every line indented, so no line of it can pass for a record of its own."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The record's line with its message made safe."""
        record.message = one_line(redact(record.message))
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        """The traceback, redacted and indented."""
        text = redact(super().formatException(ei))
        return "\n".join("    " + one_line(line) for line in text.splitlines())


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, "exception"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every log record to standard error in `log_format` (json or text)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
