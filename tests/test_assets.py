"""Static assets: content-hashed URLs cached for a year, gzip on the wire, pages never cached."""

from __future__ import annotations

import gzip
import re

import aiohttp
from aiohttp.test_utils import TestServer

from triage_service.web.assets import ASSETS


async def test_pages_link_versioned_assets_cached_immutable_and_gzipped(
    server: TestServer,
) -> None:
    """The sign-in page is no-store and links /static/v/<hash>/...; that file comes back gzip
    encoded with a one-year immutable cache, and an old hash gets no long cache."""
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/")) as page:
            assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
            html = await page.text()
        version = server.app[ASSETS].version
        links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert links and all(link.startswith(f"/static/v/{version}/") for link in links)
        css = next(link for link in links if link.endswith("app.css"))
        headers = {"Accept-Encoding": "gzip"}
        async with http.get(server.make_url(css), headers=headers, auto_decompress=False) as r:
            assert r.status == 200
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Vary"] == "Accept-Encoding"
            assert r.content_type == "text/css"
            assert b".topbar" in gzip.decompress(await r.read())
        old = css.replace(version, "0" * 12)
        async with http.get(server.make_url(old), headers={"Accept-Encoding": "identity"}) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
            assert "Content-Encoding" not in r.headers
        async with http.get(server.make_url(f"/static/v/{version}/js/nope.js")) as r:
            assert r.status == 404


async def test_module_imports_stay_on_the_same_version(server: TestServer) -> None:
    """A module's relative imports resolve under the same versioned prefix, as JavaScript."""
    version = server.app[ASSETS].version
    async with aiohttp.ClientSession() as http:
        url = server.make_url(f"/static/v/{version}/js/api.js")
        async with http.get(url) as r:
            assert r.status == 200 and r.content_type == "text/javascript"
