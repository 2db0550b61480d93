"""Headless aiortc peers make a real call, signalling through the service's `/ws`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from av import VideoFrame

from conftest import OUTCOME_FORM, PASSWORD, REQUEST_FORM, create_account
from triage_client.call_flow import start_call
from triage_client.headless import OFFER_RESEND_S, HeadlessPeer
from triage_service.domain.codes import Role

PeerFactory = Callable[..., Awaitable[HeadlessPeer]]


@pytest.fixture
async def headless() -> AsyncIterator[PeerFactory]:
    """Factory: `await headless(server, "officer")` → a signed-in peer, closed afterwards."""
    peers: list[HeadlessPeer] = []

    async def factory(server: TestServer, role: str, *, live: bool = True) -> HeadlessPeer:
        user = await create_account(server.app, Role(role))
        peer = await HeadlessPeer.signed_in(str(server.make_url("")), user.username, PASSWORD)
        peers.append(peer)
        if live:
            await peer.client.open_live()
        return peer

    yield factory
    for peer in peers:
        await peer.close()


async def call_and_check(officer: HeadlessPeer, clinician: HeadlessPeer) -> tuple[str, float]:
    """Request, accept, call; check media and chat both ways.

    Returns the request id and the seconds from accept to both data channels open.
    """
    await clinician.client.request("PUT", "/api/v1/availability", {"status": "available"})
    rid, setup_s = await start_call(officer, clinician, REQUEST_FORM)
    for peer in (officer, clinician):
        await peer.wait_connected()
        for kind in ("video", "audio"):
            await peer.wait_frames(kind, 10)
        frame = peer.received["video"].last_frame
        assert isinstance(frame, VideoFrame)
        assert frame.width == 320  # the other side's synthetic
    officer.send_chat("hello from the scene")
    clinician.send_chat("hello from the hub")
    async with asyncio.timeout(5):
        assert await clinician.messages.get() == "hello from the scene"
        assert await officer.messages.get() == "hello from the hub"
    return rid, setup_s


async def test_headless_call_on_one_instance(server: TestServer, headless: PeerFactory) -> None:
    """An officer and a clinician connect, open the chat channel and exchange media."""
    officer = await headless(server, "officer")
    clinician = await headless(server, "clinician")
    _rid, setup_s = await call_and_check(officer, clinician)
    print(f"call setup, accept → data channel open: {setup_s * 1000:.0f} ms")


async def test_headless_call_across_two_instances(
    server: TestServer, second_server: TestServer, headless: PeerFactory
) -> None:
    """The same call works with the officer on one instance and the clinician on another."""
    officer = await headless(server, "officer")
    clinician = await headless(second_server, "clinician")
    _rid, setup_s = await call_and_check(officer, clinician)
    print(f"call setup across instances: {setup_s * 1000:.0f} ms")


async def test_hang_up_twice_and_call_again(server: TestServer, headless: PeerFactory) -> None:
    """Hanging up is safe twice and leaves both peers signed in and able to make a new call."""
    officer = await headless(server, "officer")
    clinician = await headless(server, "clinician")
    rid, _setup_s = await call_and_check(officer, clinician)
    for peer in (officer, clinician):
        await peer.hang_up()
        await peer.hang_up()
        assert peer.pc is None
    assert not [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("frames-", "signals-", "resend-offer-"))
    ]
    await clinician.client.request("POST", f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    await call_and_check(officer, clinician)


async def test_offer_lost_before_officer_listens_is_resent(
    server: TestServer, headless: PeerFactory
) -> None:
    """An offer sent before the officer's socket opened is lost; the re-sent one connects."""
    officer = await headless(server, "officer", live=False)
    clinician = await headless(server, "clinician")
    created = await officer.client.request("POST", "/api/v1/requests", REQUEST_FORM)
    rid = created["id"]
    await clinician.client.request("POST", f"/api/v1/requests/{rid}/accept")
    await clinician.call(rid)
    await asyncio.sleep(0.3)  # the first offer is published to nobody
    await officer.call(rid)  # opens /ws now
    await officer.wait_connected(timeout=OFFER_RESEND_S + 5)
    await clinician.data_channel_open()
