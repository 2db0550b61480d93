"""A headless officer or clinician: signs in, uses REST and `/ws`, and calls with aiortc.

Signalling follows API.md: `{"type": "signal", "request_id", "data"}` where `data` is
`{"description": {"type", "sdp"}}` or `{"candidate": …}`. The clinician offers (impolite),
the officer answers (polite). aiortc gathers every candidate before `setLocalDescription`
returns, so full descriptions are sent and incoming `candidate` messages are ignored. Pub/sub
may drop a message, so the clinician re-sends its offer until an answer arrives, and the
officer answers a repeated offer with its current answer.

    peer = await HeadlessPeer.signed_in(base_url, "clinician", password)
    await peer.client.open_live()
    await peer.call(request_id)
    await peer.data_channel_open()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from triage_client.client import ServiceClient
from triage_client.media import FrameCounter, SineAudioTrack, SyntheticVideoTrack
from triage_service.rtc.errors import SDP_ERRORS
from triage_service.rtc.ice import rtc_configuration

log = logging.getLogger(__name__)

CHAT_CHANNEL = "chat"
OFFER_RESEND_S = 2.0


class CallFailed(Exception):
    """A headless call's connection failed or closed before it connected."""


class HeadlessPeer:
    """One signed-in user who can make one call at a time with synthetic media."""

    def __init__(
        self,
        client: ServiceClient,
        *,
        video: bool = True,
        audio: bool = True,
        ice_servers: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.client = client
        self.video, self.audio = video, audio
        self.ice_servers = ice_servers
        self.request_id: str | None = None
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.messages: asyncio.Queue[str] = asyncio.Queue()
        self.received: dict[str, FrameCounter] = {}
        self.timings: dict[str, float] = {}
        self._tracks: list[MediaStreamTrack] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._channel_open = asyncio.Event()

    @classmethod
    async def signed_in(
        cls, base_url: str, username: str, password: str, **options: Any
    ) -> HeadlessPeer:
        """A peer signed in to the service at `base_url`."""
        client = ServiceClient(base_url)
        try:
            await client.sign_in(username, password)
        except BaseException:
            await client.close()
            raise
        return cls(client, **options)

    @property
    def offerer(self) -> bool:
        """The clinician makes the offer (impolite); the officer answers (polite)."""
        return self.client.role == "clinician"

    async def call(self, request_id: str) -> None:
        """Start the call for an in-session request; the clinician sends the offer."""
        if self.pc is not None:
            raise RuntimeError(f"already in a call for request {self.request_id}")
        await self.client.open_live()
        servers = self.ice_servers
        if servers is None:
            servers = (await self.client.request("GET", "/api/v1/ice-servers"))["iceServers"]
        self.request_id = request_id
        self.timings = {"call": _now()}
        self.pc = pc = RTCPeerConnection(rtc_configuration(servers))
        pc.on("connectionstatechange", self._on_connection_state)
        pc.on("track", self._on_track)
        self._add_tracks(pc)
        if self.offerer:
            self._bind_channel(pc.createDataChannel(CHAT_CHANNEL))
            await pc.setLocalDescription(await pc.createOffer())
            self._spawn(self._resend_offer(pc), "resend-offer")
        else:
            pc.on("datachannel", self._bind_channel)
        self._spawn(self._follow_signals(request_id), "signals")

    async def wait_connected(self, timeout: float = 20.0) -> None:
        """Return once the connection is `connected`; raise CallFailed if it failed."""
        async with asyncio.timeout(timeout):
            await self._settled.wait()
        state = self._call.connectionState
        if state != "connected":
            raise CallFailed(f"connection is {state}, not connected")

    async def data_channel_open(self, timeout: float = 20.0) -> RTCDataChannel:
        """Return the open `chat` data channel."""
        async with asyncio.timeout(timeout):
            await self._channel_open.wait()
        assert self.channel is not None
        return self.channel

    async def wait_frames(self, kind: str, count: int, timeout: float = 20.0) -> FrameCounter:
        """Return once `count` frames of `kind` (video or audio) have been received."""
        async with asyncio.timeout(timeout):
            while kind not in self.received:
                await asyncio.sleep(0.02)
            await self.received[kind].wait_for(count)
        return self.received[kind]

    def send_chat(self, text: str) -> None:
        """Send a text message on the data channel."""
        if self.channel is None or self.channel.readyState != "open":
            raise CallFailed("the data channel is not open")
        self.channel.send(text)

    async def hang_up(self) -> None:
        """End the call but stay signed in; safe to call twice."""
        # 1. stop signalling, so no description arrives mid-teardown
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        # 2. close the connection: senders, receivers, SCTP, DTLS, ICE
        if self.pc is not None:
            await self.pc.close()
        # 3. stop reading received tracks, then our own synthetic tracks
        for counter in self.received.values():
            await counter.close()
        for track in self._tracks:
            track.stop()
        # 4. forget this call's signalling
        if self.request_id is not None:
            self.client.forget_signals(self.request_id)
        self._reset()

    async def close(self) -> None:
        """Hang up, then close the live channel and sign-in session; safe to call twice."""
        await self.hang_up()
        await self.client.close()

    def _reset(self) -> None:
        self.pc = self.channel = self.request_id = None
        self.received, self._tracks, self._tasks = {}, [], set()
        self._settled, self._channel_open = asyncio.Event(), asyncio.Event()

    @property
    def _call(self) -> RTCPeerConnection:
        if self.pc is None:
            raise CallFailed("no call in progress")
        return self.pc

    def _add_tracks(self, pc: RTCPeerConnection) -> None:
        if self.audio:
            self._tracks.append(SineAudioTrack())
        if self.video:
            self._tracks.append(SyntheticVideoTrack())
        for track in self._tracks:
            pc.addTrack(track)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"{name}-{self.request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow_signals(self, request_id: str) -> None:
        queue = self.client.signals(request_id)
        while True:
            data = await queue.get()
            description = data.get("description") if isinstance(data, dict) else None
            if not isinstance(description, dict):
                continue  # {"candidate": …}: aiortc already put every candidate in the SDP.
            try:
                await self._on_description(description)
            except SDP_ERRORS as e:
                log.warning("unusable description for request %s: %s", request_id, e)

    async def _on_description(self, description: dict[str, Any]) -> None:
        kind, sdp, pc = description.get("type"), description.get("sdp"), self._call
        if not isinstance(sdp, str):
            return
        if kind == "offer" and not self.offerer:
            await self._answer(pc, sdp)
        elif kind == "answer" and pc.signalingState == "have-local-offer":
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        else:
            log.debug("ignoring %s in signaling state %s", kind, pc.signalingState)

    async def _answer(self, pc: RTCPeerConnection, sdp: str) -> None:
        remote = pc.remoteDescription
        if remote is None or remote.sdp != sdp:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        # A repeated offer means our answer was lost: send the current one again.
        await self._send_description(pc)

    async def _resend_offer(self, pc: RTCPeerConnection) -> None:
        while pc.signalingState == "have-local-offer":
            await self._send_description(pc)
            await asyncio.sleep(OFFER_RESEND_S)

    async def _send_description(self, pc: RTCPeerConnection) -> None:
        local = pc.localDescription
        assert self.request_id is not None
        await self.client.send_signal(
            self.request_id, {"description": {"type": local.type, "sdp": local.sdp}}
        )

    def _on_connection_state(self) -> None:
        state = self._call.connectionState
        self.timings.setdefault(state, _now())
        if state in ("connected", "failed", "closed"):
            self._settled.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.received[track.kind] = FrameCounter(track)

    def _bind_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self._on_channel_open()
        else:
            channel.on("open", self._on_channel_open)

    def _on_channel_open(self) -> None:
        self.timings.setdefault("channel_open", _now())
        self._channel_open.set()

    def _on_message(self, message: object) -> None:
        if isinstance(message, str):
            self.messages.put_nowait(message)


def _now() -> float:
    return asyncio.get_running_loop().time()
