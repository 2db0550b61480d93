"""ICE configuration for aiortc peers built from RTCIceServer-shaped dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer


def rtc_configuration(servers: Sequence[dict[str, Any]]) -> RTCConfiguration:
    """An RTCConfiguration for exactly `servers`: an empty list means host candidates only.

    aiortc falls back to a public Google STUN server when given no list at all; passing an
    explicit list keeps the service from reaching out to the internet unasked.
    """
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in servers
        ]
    )
