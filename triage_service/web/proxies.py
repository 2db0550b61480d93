"""Who is really calling: the socket's peer, or behind a trusted proxy the address the
proxy saw (X-Forwarded-For, read right to left and only through trusted proxies).

A client can write anything into X-Forwarded-For; only the entries appended by proxies we
trust are believed. Reading right to left, every trusted hop is skipped; the first address
that is not a trusted proxy is the client. Without trusted proxies the header is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

from triage_service.settings_values import Network

Address = IPv4Address | IPv6Address
FORWARDED_FOR = "X-Forwarded-For"


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The caller's address: `peer` unless it is a trusted proxy, then the right-most
    X-Forwarded-For entry that is not one (or the left-most hop if every one is trusted)."""
    current = _parse(peer)
    if current is None:
        return peer or "unknown"
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    while _trusted(current, trusted) and hops:
        nearer = _parse(hops.pop())
        if nearer is None:
            break  # junk written by the client itself: the proxy before it is the caller
        current = nearer
    return str(current)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _parse(raw: str | None) -> Address | None:
    """An address as a proxy writes it (IPv6 possibly in brackets), or None."""
    if not raw:
        return None
    try:
        return ip_address(raw.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
