"""Requests aiohttp's parser refuses before the application (a bad request line, a header
over 8 KB, an undecodable `Content-Encoding`, control bytes) are answered like every other
error, and neither the answer nor the log holds the request's bytes, cookie or address.
Also: the text log keeps one record per line, and tokens never reach a log."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REDIS_URL, delete_keys
from live_server import free_port, serving
from triage_service.logs import JsonFormatter, TextFormatter

CLI = [sys.executable, "-c", "from triage_service.cli import main; main()"]
TOKEN = "SeSsIoNtOkEn" + secrets.token_urlsafe(12)
COOKIE = f"Cookie: triage_session={TOKEN}\r\n".encode()
BAD_REQUESTS = {
    "request line": (b"GARBAGE / HTTP/1.1\r\nHost: x\r\n" + COOKIE + b"\r\n", 400),
    "header over 8 KB": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + COOKIE + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
    # An encoding the server cannot decode (brotli it can: WeasyPrint brings the library).
    "zstd body": (
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\n"
        + COOKIE
        + b"Content-Type: application/json\r\nContent-Encoding: zstd\r\n"
        + b"Content-Length: 2\r\n\r\n{}",
        415,
    ),
    "control byte in a header": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: triage_session="
        + TOKEN.encode()
        + b"\x01z\r\n\r\n",
        400,
    ),
    "control byte in the path": (
        b"GET /he\x00althz HTTP/1.1\r\nHost: x\r\n" + COOKIE + b"\r\n",
        400,
    ),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """The service as a real process (its own server, as deployed); its port and log."""
    work = tmp_path_factory.mktemp("parser")
    prefix = f"test-parser-{secrets.token_hex(4)}:"
    port = free_port()
    serve = [*CLI, "serve", "--port", str(port), "--redis-url", REDIS_URL, "--key-prefix", prefix]
    serve += ["--log-format", "text"]
    try:
        with serving(serve, port=port, cwd=work, env=None) as _:
            yield port, work / "server.log"
    finally:
        delete_keys(prefix)


def raw_exchange(port: int, raw: bytes) -> bytes:
    """Send raw bytes, read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("kind", list(BAD_REQUESTS))
def test_parser_errors_are_answered_like_every_other_error(
    live: tuple[int, Path], kind: str
) -> None:
    """The answer is the JSON error shape with the security headers and no version banner;
    it echoes nothing of the request; the log line names the fault only, with no traceback,
    cookie or address."""
    port, log = live
    raw, status = BAD_REQUESTS[kind]
    head, _, body = raw_exchange(port, raw).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split()[1] == str(status)
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
    assert headers["server"] == "triage-service"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"}
    assert TOKEN.encode() not in body and b"GARBAGE" not in body and b"aaaa" not in body
    text = log.read_text()
    assert TOKEN not in text and "Traceback" not in text and "127.0.0.1 " not in text
    assert "refused an unreadable request" in text


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    """A log record as a library would make it."""
    exc_info = None
    if exc:
        try:
            raise ValueError(f"header was Cookie: triage_session={TOKEN}\nforged line")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, args, exc_info)


def test_the_text_log_keeps_one_record_per_line() -> None:
    """A newline (or another control character) in a message is escaped, and every line of a
    traceback is indented: nothing can start a forged record."""
    line = TextFormatter().format(record("GET %s 404", "/x\n2026-01-01 INFO forged\x1b[2J"))
    assert line.count("\n") == 0
    assert "\\n2026-01-01 INFO forged\\x1b[2J" in line
    lines = TextFormatter().format(record("failed", exc=True)).split("\n")
    assert all(line.startswith("    ") for line in lines[1:])


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()])
def test_tokens_never_reach_the_log(formatter: logging.Formatter) -> None:
    """Session cookies, bearer tokens and CSRF tokens in a message or a traceback are
    blanked out in both formats."""
    message = f"Cookie: __Host-triage_session={TOKEN}; Authorization: Bearer {TOKEN}"
    message += f" X-CSRF-Token: {TOKEN}"
    assert TOKEN not in formatter.format(record(message))
    assert TOKEN not in formatter.format(record("failed", exc=True))
