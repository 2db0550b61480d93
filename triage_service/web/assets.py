"""Static assets under a content-hashed prefix, gzip-compressed once at startup.

`/static/v/<hash>/js/x.js` is immutable, so browsers may keep it for a year; the hash covers
every file, so relative ES-module imports stay on one consistent version. A page rendered
before a deploy may ask for an old hash: it gets today's file, without the long cache.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MIN_GZIP_BYTES = 512
TEXT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str


@dataclass(frozen=True)
class Assets:
    version: str
    files: dict[str, Asset]

    @property
    def prefix(self) -> str:
        """The URL prefix pages use for static files."""
        return f"/static/v/{self.version}"


ASSETS = web.AppKey("assets", Assets)


@functools.cache
def load_assets(root: Path) -> Assets:
    """Read and compress every file under `root`; the version is a hash of them all. Once per
    process: the files do not change while it runs."""
    files: dict[str, Asset] = {}
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".gz"):
        name = path.relative_to(root).as_posix()
        body = path.read_bytes()
        digest.update(name.encode() + b"\0" + body)
        kind = TEXT_TYPES.get(path.suffix) or mimetypes.guess_type(name)[0]
        squeezed = gzip.compress(body, 9, mtime=0) if len(body) >= MIN_GZIP_BYTES else None
        files[name] = Asset(body, squeezed, kind or "application/octet-stream")
    return Assets(digest.hexdigest()[:12], files)


async def serve_asset(request: web.Request) -> web.Response:
    """One versioned static file, gzip-encoded when the browser accepts it."""
    assets = request.app[ASSETS]
    asset = assets.files.get(request.match_info["path"])
    if asset is None:
        raise web.HTTPNotFound()
    current = request.match_info["version"] == assets.version
    headers = {"Cache-Control": IMMUTABLE if current else REVALIDATE, "Vary": "Accept-Encoding"}
    body = asset.body
    if asset.gzipped and "gzip" in request.headers.get("Accept-Encoding", ""):
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    return web.Response(body=body, content_type=asset.content_type, headers=headers)


def add_asset_routes(app: web.Application, root: Path) -> Assets:
    """Load the assets and route `/static/v/{version}/{path}` to them."""
    assets = app[ASSETS] = load_assets(root)
    app.router.add_get("/static/v/{version}/{path:.+}", serve_asset)
    return assets
