"""The pre-call connection test: a server-side aiortc peer that echoes a browser's media.

The browser sends an offer with its camera, microphone and a data channel; the echo peer
sends every received track straight back and answers each data-channel message `ping:<x>`
with `pong:<x>`, so the page can show its own video after a round trip and measure the
round-trip time, loss and bitrate. Each peer lives at most `lifetime_s` seconds and at most
`limit` run at once; `EchoPeers.close()` ends them all when the app shuts down.

The peer itself is in echo_peer.py, imported when the first test starts: aiortc takes about
0.2 s of CPU to load, which every start of the service would pay.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from triage_service.rtc.echo_errors import EchoPeerError, TooManyPeers

if TYPE_CHECKING:
    from aiortc import RTCSessionDescription

    from triage_service.rtc.echo_peer import EchoPeer


class EchoPeers:
    """The running echo peers of this instance: bounded in number and in lifetime."""

    def __init__(
        self, *, limit: int, lifetime_s: float, ice_servers: Sequence[dict[str, Any]] = ()
    ) -> None:
        self.limit = limit
        self.lifetime_s = lifetime_s
        self.ice_servers = list(ice_servers)
        self._peers: set[EchoPeer] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._peers)

    async def answer(self, sdp: str, *, owner: str) -> RTCSessionDescription:
        """Start an echo peer for `owner` (ending their previous one) and return its answer."""
        from triage_service.rtc.echo_peer import EchoPeer, check_offer  # see the docstring

        if self._closing:
            raise EchoPeerError("the service is shutting down")
        check_offer(sdp)
        await self._close_owned_by(owner)
        self._check_capacity()
        peer = EchoPeer(
            owner=owner,
            ice_servers=self.ice_servers,
            lifetime_s=self.lifetime_s,
            on_closed=self._peers.discard,
        )
        self._peers.add(peer)
        try:
            return await peer.answer(sdp)
        except BaseException:
            await peer.close()
            raise

    async def close(self) -> None:
        """Close every peer and refuse new ones; safe to call twice."""
        self._closing = True
        await asyncio.gather(*(peer.close() for peer in list(self._peers)))

    async def _close_owned_by(self, owner: str) -> None:
        await asyncio.gather(*(p.close() for p in list(self._peers) if p.owner == owner))

    def _check_capacity(self) -> None:
        if len(self._peers) < self.limit:
            return
        now = asyncio.get_running_loop().time()
        soonest = min(peer.deadline for peer in self._peers)
        raise TooManyPeers(self.limit, max(1, math.ceil(soonest - now)))
