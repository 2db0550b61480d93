"""STUN/TURN servers for browsers, with short-lived TURN credentials (coturn REST scheme).

coturn's `use-auth-secret` mode accepts any username of the form `"{expiry}:{user}"` whose
password is base64(HMAC-SHA1(shared secret, username)) while `expiry` (Unix seconds) is in the
future, so the service mints credentials without talking to the TURN server.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Sequence
from typing import Any

MAX_TTL_S = 3600
# RFC 7065: turn:/turns: host[:port][?transport=udp|tcp], e.g. "turn:host:443?transport=tcp"
# for networks that let only TCP out, or "turns:host:443?transport=tcp" for TLS on 443.
TURN_URL = re.compile(
    r"turns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?"
)


def turn_credential(secret: str, username: str) -> str:
    """The coturn `use-auth-secret` password for `username`: base64 HMAC-SHA1."""
    digest = hmac.digest(secret.encode(), username.encode(), "sha1")
    return base64.b64encode(digest).decode("ascii")


def turn_server(
    *, secret: str, urls: Sequence[str], user_id: str, now_s: int, ttl_s: int
) -> dict[str, Any]:
    """An RTCIceServer for `urls` whose credentials expire `ttl_s` (≤ 1 h) after `now_s`."""
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"TURN credential lifetime must be 1..{MAX_TTL_S} s, got {ttl_s}")
    username = f"{now_s + ttl_s}:{user_id}"
    return {
        "urls": list(urls),
        "username": username,
        "credential": turn_credential(secret, username),
    }


def parse_turn_urls(raw: str | None) -> list[str]:
    """The comma-separated `turn_urls` setting as a list, blanks dropped; ValueError naming the
    first URL that is not `turn:`/`turns:` host[:port][?transport=udp|tcp]."""
    urls = [url.strip() for url in (raw or "").split(",") if url.strip()]
    for url in urls:
        if not TURN_URL.fullmatch(url):
            raise ValueError(f"not a TURN URL (turn:/turns:host[:port][?transport=udp|tcp]): {url}")
    return urls


def ice_servers_for(
    *,
    configured: Sequence[dict[str, Any]],
    turn_secret: str | None,
    turn_urls: str | None,
    user_id: str,
    now_s: int,
    ttl_s: int,
) -> list[dict[str, Any]]:
    """The configured servers plus, when a secret and URLs are set, a freshly minted TURN entry."""
    servers = [dict(server) for server in configured]
    urls = parse_turn_urls(turn_urls)
    if turn_secret and urls:
        servers.append(
            turn_server(secret=turn_secret, urls=urls, user_id=user_id, now_s=now_s, ttl_s=ttl_s)
        )
    return servers
