"""Reverse proxies in front of the service for tests: Debian's Caddy (what deploy/ ships) and
a small aiohttp proxy that appends to X-Forwarded-For as most proxies do."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from live_server import free_port

CADDY = shutil.which("caddy")
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}
)


@contextlib.contextmanager
def caddy(upstream: str, work: Path) -> Iterator[str]:
    """Caddy on 127.0.0.1 proxying to `upstream` (host:port); yields its base URL."""
    assert CADDY is not None
    env = {**os.environ, "XDG_DATA_HOME": str(work), "XDG_CONFIG_HOME": str(work)}
    for attempt in range(3):
        port = free_port()
        config = work / "Caddyfile"
        config.write_text(
            "{\n\tadmin off\n\tauto_https off\n}\n"
            f"http://127.0.0.1:{port} {{\n\tbind 127.0.0.1\n\treverse_proxy {upstream}\n}}\n"
        )
        log = (work / "caddy.log").open("wb")
        process = subprocess.Popen(
            [CADDY, "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_listening(port, process, work / "caddy.log")
            yield f"http://127.0.0.1:{port}"
            return
        except PortTaken:  # another process took the free port before Caddy bound it
            if attempt == 2:
                raise
        finally:
            process.terminate()
            process.wait(timeout=10)
            log.close()


class PortTaken(AssertionError):
    """Caddy could not bind the port it was given."""


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text()
            taken = "address already in use" in text
            raise (PortTaken if taken else AssertionError)(
                f"caddy exited {process.returncode}:\n{text}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"caddy not listening within 15 s:\n{log.read_text()}")


@contextlib.asynccontextmanager
async def aiohttp_proxy(upstream: str) -> AsyncIterator[str]:
    """A minimal HTTP reverse proxy to `upstream` (host:port) that appends the peer's address
    to X-Forwarded-For; yields its base URL."""
    http = aiohttp.ClientSession(auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        sent = request.headers.get("X-Forwarded-For")
        peer = request.remote or ""
        headers["X-Forwarded-For"] = f"{sent}, {peer}" if sent else peer
        async with http.request(
            request.method,
            f"http://{upstream}{request.rel_url}",
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=answer.status, body=body, headers=kept)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", forward)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await http.close()
