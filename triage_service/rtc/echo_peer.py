"""One echo peer of the connection test (aiortc): it sends every received track straight back
and answers each data-channel message `ping:<x>` with `pong:<x>` (echo.py keeps them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from triage_service.rtc.echo_errors import InvalidOffer
from triage_service.rtc.errors import SDP_ERRORS
from triage_service.rtc.ice import rtc_configuration

log = logging.getLogger(__name__)

MAX_MEDIA_SECTIONS = 8


def check_offer(sdp: str) -> None:
    """Raise InvalidOffer unless `sdp` parses and has 1..MAX_MEDIA_SECTIONS media sections."""
    try:
        media = SessionDescription.parse(sdp).media
    except SDP_ERRORS as e:
        raise InvalidOffer(f"the SDP does not parse ({type(e).__name__}: {e})") from e
    if not media:
        raise InvalidOffer("the SDP has no media section (m= line)")
    if len(media) > MAX_MEDIA_SECTIONS:
        raise InvalidOffer(
            f"the SDP has {len(media)} media sections, at most {MAX_MEDIA_SECTIONS} allowed"
        )


class EchoPeer:
    """One echo connection, closed when its time is up, when ICE fails, or on `close()`."""

    def __init__(
        self,
        *,
        owner: str,
        ice_servers: Sequence[dict[str, Any]],
        lifetime_s: float,
        on_closed: Callable[[EchoPeer], None],
    ) -> None:
        self.owner = owner
        self.deadline = asyncio.get_running_loop().time() + lifetime_s
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._on_closed = on_closed
        self._ended = asyncio.Event()
        self._closed: asyncio.Future[None] | None = None
        self._watchdog = asyncio.create_task(self._close_when_done(lifetime_s))
        self.pc.on("track", self._echo_track)
        self.pc.on("datachannel", self._answer_pings)
        self.pc.on("connectionstatechange", self._on_connection_state)

    @property
    def closed(self) -> bool:
        """Whether `close()` has started."""
        return self._closed is not None

    async def answer(self, sdp: str) -> RTCSessionDescription:
        """Apply the browser's offer and return the answer with every ICE candidate in it."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            # aiortc gathers all candidates inside setLocalDescription: no trickle needed.
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except SDP_ERRORS as e:
            raise InvalidOffer(
                f"the offer cannot be answered ({type(e).__name__}: {e}; "
                f"signaling state {self.pc.signalingState})"
            ) from e
        return self.pc.localDescription

    async def close(self) -> None:
        """Stop the watchdog, then the connection, then leave the registry; safe twice."""
        if self._closed is not None:
            await asyncio.shield(self._closed)
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            # 1. stop the watchdog, unless it is the task closing us
            if self._watchdog is not asyncio.current_task():
                self._watchdog.cancel()
                await asyncio.wait({self._watchdog})
            # 2. close the connection: stops echoed senders, receivers, SCTP, DTLS and ICE
            await self.pc.close()
        finally:
            # 3. free the slot
            self._on_closed(self)
            self._closed.set_result(None)

    async def _close_when_done(self, lifetime_s: float) -> None:
        try:
            await asyncio.wait_for(self._ended.wait(), timeout=lifetime_s)
        except TimeoutError:
            log.debug("connection test of %s reached its %s s limit", self.owner, lifetime_s)
        await self.close()

    def _echo_track(self, track: MediaStreamTrack) -> None:
        self.pc.addTrack(track)

    def _answer_pings(self, channel: RTCDataChannel) -> None:
        def on_message(message: object) -> None:
            if isinstance(message, str) and message.startswith("ping:"):
                channel.send("pong:" + message.removeprefix("ping:"))

        channel.on("message", on_message)

    def _on_connection_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self._ended.set()
