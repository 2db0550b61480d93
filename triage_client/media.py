"""Synthetic media for headless peers: a small moving video, a sine tone, and frame counting."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from typing import Any

from aiortc import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

AUDIO_RATE = 48000
AUDIO_PTIME_S = 0.020


class SyntheticVideoTrack(VideoStreamTrack):
    """30 fps frames of `width` x `height` whose brightness cycles, cheap to encode."""

    def __init__(self, *, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._count = 0

    async def recv(self) -> Frame:
        """The next frame, paced in real time."""
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        luma, *chroma = frame.planes
        luma.update(bytes([16 + (self._count * 4) % 220]) * luma.buffer_size)
        for plane in chroma:
            plane.update(b"\x80" * plane.buffer_size)
        self._count += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class SineAudioTrack(AudioStreamTrack):
    """A mono 48 kHz sine tone in 20 ms frames, paced in real time."""

    def __init__(self, *, frequency_hz: int = 440, amplitude: float = 0.2) -> None:
        super().__init__()
        # One second holds a whole number of cycles, so the buffer loops without a click.
        peak = int(32767 * amplitude)
        self._second = array.array(
            "h",
            (
                int(peak * math.sin(2 * math.pi * frequency_hz * n / AUDIO_RATE))
                for n in range(AUDIO_RATE)
            ),
        )
        self._samples = int(AUDIO_RATE * AUDIO_PTIME_S)
        self._sent = 0
        self._started_at: float | None = None

    async def recv(self) -> Frame:
        """The next 20 ms of tone."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._started_at is None:
            self._started_at = time.time()
        else:
            await asyncio.sleep(self._started_at + self._sent / AUDIO_RATE - time.time())
        offset = self._sent % AUDIO_RATE
        chunk = self._second[offset : offset + self._samples]
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(chunk.tobytes())
        frame.pts, frame.sample_rate = self._sent, AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._sent += self._samples
        return frame


class FrameCounter:
    """Reads a received track to its end, counting frames and remembering the last one."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.kind = track.kind
        self.count = 0
        self.last_frame: Frame | Packet[Any] | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(track), name=f"frames-{self.kind}")

    async def wait_for(self, count: int) -> None:
        """Return once at least `count` frames have arrived."""
        while self.count < count:
            if self._task.done():
                raise MediaStreamError(f"{self.kind} track ended after {self.count} frames")
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        """Stop reading; safe to call twice."""
        self._task.cancel()
        await asyncio.wait({self._task})

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                self.last_frame = await track.recv()
                self.count += 1
                self._changed.set()
        except MediaStreamError:
            self._changed.set()
