"""A guest's browser without a browser: an HTTP client that opens a guest link and then uses
the guest page's own API (its cookie and CSRF token)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


class GuestClient:
    """One guest page: `open_link` then `get`, `post` and `live` as that page."""

    def __init__(self, server: TestServer) -> None:
        self.client = TestClient(server)
        self.csrf = ""

    async def __aenter__(self) -> GuestClient:
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.session.close()  # not `close()`: that stops the shared server

    async def open_link(self, url: str) -> tuple[int, str]:
        """Open a guest link (path of `url`); the status and the page."""
        path = "/" + url.split("/", 3)[3]
        response = await self.client.get(path)
        page = await response.text()
        if found := CSRF.search(page):
            self.csrf = found.group(1)
        return response.status, page

    async def get(self, path: str) -> tuple[int, Any]:
        """GET as the guest page."""
        response = await self.client.get(path)
        return response.status, await response.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        """POST as the guest page, with its CSRF token."""
        response = await self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})
        return response.status, None if response.status == 204 else await response.json()

    async def live(self) -> Any:
        """The guest page's live channel."""
        origin = str(self.client.make_url("/")).rstrip("/")
        return await self.client.ws_connect("/guest/live", headers={"Origin": origin})
