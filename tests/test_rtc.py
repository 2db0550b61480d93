"""ICE servers with minted TURN credentials, and the pre-call connection test's echo peer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCPeerConnection, RTCSessionDescription
from av import VideoFrame

from conftest import REDIS_URL, ApiClient, SignInFactory
from triage_client.media import FrameCounter, SineAudioTrack, SyntheticVideoTrack
from triage_service.rtc.ice import rtc_configuration
from triage_service.rtc.turn import ice_servers_for, turn_credential, turn_server
from triage_service.settings import Settings, SettingsError
from triage_service.web.state import ECHO_PEERS

STUN = {"urls": "stun:stun.example.org:3478"}
TURN: dict[str, Any] = {
    "turn_secret": "coturn-shared-secret",
    "turn_urls": "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349",
    "turn_ttl_s": 600,
}


@pytest.fixture
def settings(key_prefix: str, request: pytest.FixtureRequest) -> Settings:
    """Test settings, with overrides from `parametrize("settings", [{…}], indirect=True)`."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return Settings(redis_url=REDIS_URL, key_prefix=key_prefix, sweep_interval_s=0.1, **overrides)


class BrowserPeer:
    """An aiortc peer playing the browser's side of the connection test."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration([]))
        self.tracks = [SyntheticVideoTrack(), SineAudioTrack()]
        for track in self.tracks:
            self.pc.addTrack(track)
        self.channel = self.pc.createDataChannel("probe")
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.channel.on("message", self.replies.put_nowait)
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.received: dict[str, FrameCounter] = {}
        self.pc.on(
            "track", lambda track: self.received.__setitem__(track.kind, FrameCounter(track))
        )
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def offer(self) -> dict[str, str]:
        """The offer body for POST /api/v1/connection-test."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": "offer"}

    async def start(self, api: ApiClient) -> None:
        """Offer, apply the service's answer, and fail the test on any error status."""
        status, answer = await api.post("/api/v1/connection-test", await self.offer())
        assert status == 200, answer
        assert answer["type"] == "answer"
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))

    async def close(self) -> None:
        """Close the connection and stop reading and sending."""
        await self.pc.close()
        for counter in self.received.values():
            await counter.close()
        for track in self.tracks:
            track.stop()


@pytest.fixture
async def browser() -> AsyncIterator[BrowserPeer]:
    """A browser-like peer, closed after the test."""
    peer = BrowserPeer()
    yield peer
    await peer.close()


async def post_offer(api: ApiClient, body: Any) -> tuple[int, dict[str, str], Any]:
    """POST a connection-test offer; return status, headers and JSON body."""
    async with api.client.post(
        "/api/v1/connection-test", json=body, headers={"X-CSRF-Token": api.csrf}
    ) as response:
        return response.status, dict(response.headers), await response.json()


def test_turn_credential_is_coturn_hmac() -> None:
    """The credential is base64 HMAC-SHA1 of the username under the shared secret."""
    server = turn_server(
        secret="s3cret", urls=["turn:t.example:3478"], user_id="u1", now_s=1_700_000_000, ttl_s=3600
    )
    assert server["username"] == "1700003600:u1"
    expected = hmac.new(b"s3cret", b"1700003600:u1", hashlib.sha1).digest()
    assert base64.b64decode(server["credential"]) == expected
    assert turn_credential("s3cret", "1700003600:u1") == server["credential"]


def test_turn_lifetime_is_at_most_an_hour() -> None:
    """Minting credentials for longer than an hour (or no time at all) is refused."""
    for ttl in (0, 3601):
        with pytest.raises(ValueError, match="lifetime"):
            turn_server(secret="s", urls=["turn:t"], user_id="u", now_s=0, ttl_s=ttl)


def test_no_turn_without_secret_or_urls() -> None:
    """TURN is only added when both the secret and the URLs are configured."""
    for secret, urls in ((None, "turn:t"), ("s", None), ("s", " , ")):
        servers = ice_servers_for(
            configured=[STUN], turn_secret=secret, turn_urls=urls, user_id="u", now_s=0, ttl_s=60
        )
        assert servers == [STUN]


@pytest.mark.parametrize(
    "settings",
    [{"ice_servers": f'[{{"urls": "{STUN["urls"]}"}}]'}],
    indirect=True,
    ids=["stun-only"],
)
async def test_ice_servers_without_turn(sign_in: SignInFactory) -> None:
    """Without a TURN secret the configured servers come back unchanged."""
    officer = await sign_in("officer")
    status, body = await officer.get("/api/v1/ice-servers")
    assert status == 200, body
    assert body == {"iceServers": [STUN]}


@pytest.mark.parametrize("settings", [{"ice_servers": "[]", **TURN}], indirect=True, ids=["turn"])
async def test_ice_servers_mint_turn_credentials(sign_in: SignInFactory) -> None:
    """With a TURN secret each user gets a credential that verifies and expires within the TTL."""
    clinician = await sign_in("clinician")
    before = int(time.time())
    status, body = await clinician.get("/api/v1/ice-servers")
    assert status == 200, body
    [turn] = body["iceServers"]
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    expiry, user_id = turn["username"].split(":")
    assert user_id == clinician.user.id
    assert before < int(expiry) <= int(time.time()) + TURN["turn_ttl_s"]
    digest = hmac.new(TURN["turn_secret"].encode(), turn["username"].encode(), "sha1").digest()
    assert hmac.compare_digest(base64.b64decode(turn["credential"]), digest)


async def test_rtc_routes_need_sign_in(server: TestServer) -> None:
    """Both routes answer 401 to a visitor who is not signed in."""
    async with TestClient(server) as client:
        for method, path in (("GET", "/api/v1/ice-servers"), ("POST", "/api/v1/connection-test")):
            async with client.request(method, path, json={}) as response:
                assert response.status == 401


async def test_echo_returns_media_and_pongs(
    sign_in: SignInFactory, server: TestServer, browser: BrowserPeer
) -> None:
    """The echo peer sends the browser's own video and audio back and answers a ping."""
    officer = await sign_in("officer")
    started = time.monotonic()
    await browser.start(officer)
    answered = time.monotonic()
    async with asyncio.timeout(15):
        await browser.connected.wait()
        connected = time.monotonic()
        await browser.opened.wait()
        browser.channel.send("ping:42")
        assert await browser.replies.get() == "pong:42"
        rtt = time.monotonic()
        while set(browser.received) != {"video", "audio"}:
            await asyncio.sleep(0.01)
        await browser.received["video"].wait_for(1)
        first_frame = time.monotonic()
        await browser.received["video"].wait_for(10)
        await browser.received["audio"].wait_for(10)
    frame = browser.received["video"].last_frame
    assert isinstance(frame, VideoFrame)
    assert (frame.width, frame.height) == (320, 240)  # ours, not aiortc's 640x480 default
    assert len(server.app[ECHO_PEERS]) == 1
    print(
        f"connection test: answer {1000 * (answered - started):.0f} ms, connected "
        f"{1000 * (connected - started):.0f} ms, first echoed frame "
        f"{1000 * (first_frame - started):.0f} ms after the offer; ping-pong "
        f"{1000 * (rtt - connected):.0f} ms after connect incl. channel open"
    )


@pytest.mark.parametrize("settings", [{"connection_test_max": 1}], indirect=True, ids=["max1"])
async def test_concurrent_tests_are_capped(
    sign_in: SignInFactory, server: TestServer, browser: BrowserPeer
) -> None:
    """Beyond the cap a second user gets 429 with Retry-After; the first user may restart."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    await browser.start(officer)
    second = BrowserPeer()
    try:
        status, headers, body = await post_offer(clinician, await second.offer())
        assert status == 429, body
        assert body["error"]["code"] == "rate_limited"
        assert 1 <= int(headers["Retry-After"]) <= 20
        status, _headers, body = await post_offer(officer, await second.offer())
        assert status == 200, body  # the same user's new test replaces their old one
        assert len(server.app[ECHO_PEERS]) == 1
    finally:
        await second.close()


@pytest.mark.parametrize("settings", [{"connection_test_s": 2}], indirect=True, ids=["2s"])
async def test_echo_peer_closes_after_its_time(
    sign_in: SignInFactory, server: TestServer, browser: BrowserPeer
) -> None:
    """After connection_test_s the server closes its peer and the registry is empty."""
    officer = await sign_in("officer")
    peers = server.app[ECHO_PEERS]
    await browser.start(officer)
    [peer] = list(peers._peers)
    await asyncio.sleep(1)
    assert len(peers) == 1
    async with asyncio.timeout(3):
        while len(peers):
            await asyncio.sleep(0.05)
    assert peer.pc.connectionState == "closed"
    await peer.close()  # a second close is harmless
    assert not _echo_tasks()


async def test_shutdown_closes_every_echo_peer(
    sign_in: SignInFactory, server: TestServer, browser: BrowserPeer
) -> None:
    """Stopping the app closes running echo peers and leaves no task behind."""
    officer = await sign_in("officer")
    await browser.start(officer)
    peers = server.app[ECHO_PEERS]
    [peer] = list(peers._peers)
    await server.close()
    assert len(peers) == 0
    assert peer.closed and peer.pc.connectionState == "closed"
    assert not _echo_tasks()


@pytest.mark.parametrize(
    "sdp",
    [
        "hello",
        "v=0\r\n",
        "\x00\xff\xfe",
        "m=audio x",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=mid:0\r\n"
        "a=ice-ufrag:x\r\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyyyy\r\na=setup:actpass\r\n",
        "v=0\r\n" + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" * 9,
    ],
    ids=["word", "empty", "binary", "bad-m", "no-ice", "no-rtcp-mux", "too-many"],
)
async def test_garbage_sdp_is_422(sign_in: SignInFactory, server: TestServer, sdp: str) -> None:
    """An SDP the echo peer cannot answer is a 422 naming `sdp`, and leaves no peer behind."""
    officer = await sign_in("officer")
    status, body = await officer.post("/api/v1/connection-test", {"sdp": sdp, "type": "offer"})
    assert status == 422, body
    assert "sdp" in body["error"]["fields"]
    assert len(server.app[ECHO_PEERS]) == 0


async def test_answer_type_is_422(sign_in: SignInFactory) -> None:
    """Only offers are accepted."""
    officer = await sign_in("officer")
    status, body = await officer.post("/api/v1/connection-test", {"sdp": "v=0", "type": "answer"})
    assert status == 422 and "type" in body["error"]["fields"]


def _echo_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "_close_when_done" in repr(t.get_coro())]


async def test_browser_hang_up_frees_the_slot(
    sign_in: SignInFactory, server: TestServer, browser: BrowserPeer
) -> None:
    """When the browser closes its connection the echo peer closes well before its time."""
    officer = await sign_in("officer")
    peers = server.app[ECHO_PEERS]
    await browser.start(officer)
    async with asyncio.timeout(10):
        await browser.opened.wait()
    started = time.monotonic()
    await browser.close()
    async with asyncio.timeout(10):
        while len(peers):
            await asyncio.sleep(0.05)
    assert time.monotonic() - started < 5  # the test's own limit is 20 s


def test_turn_urls_over_tcp_and_tls_on_443_are_accepted() -> None:
    """`turn_urls` takes TURN over UDP, over TCP and over TLS (e.g. on 443) and hands them to
    the browser in the order given."""
    urls = (
        "turn:t.example:3478?transport=udp, turn:t.example:443?transport=tcp, turns:t.example:443"
    )
    settings = Settings(redis_url=REDIS_URL, turn_secret="s", turn_urls=urls)
    servers = ice_servers_for(
        configured=[],
        turn_secret="s",
        turn_urls=settings.turn_urls,
        user_id="u",
        now_s=0,
        ttl_s=60,
    )
    assert servers[0]["urls"] == [
        "turn:t.example:3478?transport=udp",
        "turn:t.example:443?transport=tcp",
        "turns:t.example:443",
    ]


@pytest.mark.parametrize("url", ["http://t.example", "turn:t.example?transport=sctp", "stun:x"])
def test_a_bad_turn_url_is_refused_at_start(url: str) -> None:
    """A `turn_urls` entry that is not a turn:/turns: URL stops the service from starting,
    naming the URL."""
    with pytest.raises(SettingsError, match="turn_urls"):
        Settings(redis_url=REDIS_URL, turn_urls=url)
