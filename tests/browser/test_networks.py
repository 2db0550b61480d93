"""The call on real networks: two Chromiums in separate network namespaces with no route
between them, a real coturn, and the link squeezed or the officer's address changed mid-call.

Needs root, iproute2 and coturn (scripts/test installs it); skipped with the reason where
`ip netns` cannot run. `scripts/measure_network` repeats the same steps for the figures.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Playwright

from conftest import PASSWORD, REDIS_URL, create_account
from triage_service.domain.codes import Role
from triage_service.settings import Settings
from triage_service.tools import netcall
from triage_service.tools.coturn import coturn_unavailable, turnserver
from triage_service.tools.netbed import NetBed, netns_unavailable, network_bed

REASON = netns_unavailable() or coturn_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
TURN_SECRET = secrets.token_hex(16)


@pytest.fixture
def bed() -> Iterator[NetBed]:
    """The officer's and the clinician's namespaces, torn down afterwards."""
    with network_bed() as made:
        yield made


@pytest.fixture
def turn_port(bed: NetBed) -> Iterator[int]:
    """coturn on the shared address, for the service's TURN secret."""
    with turnserver(bed.shared, TURN_SECRET) as port:
        yield port


@pytest.fixture
def settings(key_prefix: str, bed: NetBed, turn_port: int) -> Settings:
    """The service's settings: TURN over UDP and TCP on the shared address, no STUN; TURN
    credentials for 4 minutes, so any ICE restart comes within the pages' renewal margin."""
    turn = f"turn:{bed.shared}:{turn_port}"
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        turn_secret=TURN_SECRET,
        turn_urls=f"{turn}?transport=udp,{turn}?transport=tcp",
        turn_ttl_s=240,
    )


@pytest.fixture
async def net_server(app: web.Application, bed: NetBed) -> AsyncIterator[TestServer]:
    """The service on the shared address, reachable from both namespaces."""
    test_server = TestServer(app, host=bed.shared)
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
def origin(net_server: TestServer) -> str:
    """The service's origin as both browsers see it."""
    return str(net_server.make_url("")).rstrip("/")


@pytest.fixture
def chrome_dir() -> Iterator[Path]:
    """A directory for the per-namespace Chromium wrappers."""
    with tempfile.TemporaryDirectory(prefix="netns-chromium-") as directory:
        yield Path(directory)


async def browser_in(
    playwright: Playwright, bed: NetBed, role: str, origin: str, directory: Path
) -> AsyncIterator[Browser]:
    """Chromium inside `role`'s namespace, closed afterwards."""
    browser = await netcall.launch_in(playwright, bed.ns(role), origin, directory)
    yield browser
    await browser.close()


@pytest.fixture
async def officer_browser(
    playwright: Playwright, bed: NetBed, origin: str, chrome_dir: Path
) -> AsyncIterator[Browser]:
    """Chromium in the officer's namespace."""
    async for browser in browser_in(playwright, bed, "officer", origin, chrome_dir):
        yield browser


@pytest.fixture
async def clinician_browser(
    playwright: Playwright, bed: NetBed, origin: str, chrome_dir: Path
) -> AsyncIterator[Browser]:
    """Chromium in the clinician's namespace."""
    async for browser in browser_in(playwright, bed, "clinician", origin, chrome_dir):
        yield browser


async def pages(
    net_server: TestServer, origin: str, officer_browser: Browser, clinician_browser: Browser
) -> tuple[Page, Page]:
    """A signed-in officer page and clinician page, each in its own namespace."""
    officer = await create_account(net_server.app, Role.OFFICER)
    clinician = await create_account(net_server.app, Role.CLINICIAN)
    return (
        await netcall.signed_in(officer_browser, origin, officer.username, PASSWORD),
        await netcall.signed_in(clinician_browser, origin, clinician.username, PASSWORD),
    )


async def connected_call(officer: Page, clinician: Page) -> float:
    """Place the call and wait for both sides to connect; returns seconds from both pages open
    to both connected."""
    opened = await netcall.place_call(officer, clinician, f"PS-NET-{secrets.token_hex(2)}")
    for page in (officer, clinician):
        await netcall.wait_connected(page)
    seconds = time.perf_counter() - opened
    for page in (officer, clinician):
        await netcall.wait_playing(page)
    return seconds


async def media_flows_again(officer: Page, clinician: Page) -> None:
    """Wait until both sides are connected with the remote video playing anew."""
    for page in (officer, clinician):
        await page.evaluate("() => { delete document.getElementById('remote-video').dataset.seen }")
    for page in (officer, clinician):
        await netcall.wait_connected(page, timeout_s=30)
        await netcall.wait_playing(page, timeout_s=30)


async def test_call_connects_through_turn_without_a_direct_route(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
) -> None:
    """With no route between the two namespaces the call connects through the TURN relay
    within 3 s of both session pages opening, with video playing both ways."""
    officer, clinician = await pages(net_server, origin, officer_browser, clinician_browser)
    seconds = await connected_call(officer, clinician)
    print(f"\nsetup through TURN: {seconds:.2f} s")
    assert seconds <= 3
    for page in (officer, clinician):
        ends = await netcall.route(page)
        assert any(end.endswith(f" {bed.shared}") for end in ends.values()), ends


async def test_a_squeezed_link_moves_the_call_to_audio_and_both_are_told(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
) -> None:
    """Squeezing the officer's link to 40 kbit/s each way moves the call to audio by itself
    within 15 s; both pages show the mode and say why in plain words, and audio stays up."""
    officer, clinician = await pages(net_server, origin, officer_browser, clinician_browser)
    await connected_call(officer, clinician)
    bed.squeeze("officer", 40)
    squeezed = time.perf_counter()
    for page in (officer, clinician):
        await netcall.wait_mode(page, "audio", timeout_s=30)
    seconds = time.perf_counter() - squeezed
    print(f"\nsqueeze to audio: {seconds:.1f} s")
    assert seconds <= 15
    for page in (officer, clinician):
        assert "too weak for video" in await netcall.notice(page)
    await officer.wait_for_timeout(8000)
    for page in (officer, clinician):
        assert await page.get_by_test_id("call-mode").text_content() == "audio"
        await netcall.wait_connected(page)


async def test_the_call_comes_back_after_the_officers_address_changes(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
) -> None:
    """When the officer's address changes mid-call (old sockets go silent), both sides restart
    ICE over the re-established live channel and video plays both ways again within 15 s
    (there is no route but the relay); each side first mints new TURN credentials (theirs
    were near expiry)."""
    officer, clinician = await pages(net_server, origin, officer_browser, clinician_browser)
    await connected_call(officer, clinician)
    minted: dict[str, list[str]] = {"officer": [], "clinician": []}
    officer.on("request", lambda request: minted["officer"].append(request.url))
    clinician.on("request", lambda request: minted["clinician"].append(request.url))
    bed.move("officer")
    moved = time.perf_counter()
    await media_flows_again(officer, clinician)
    seconds = time.perf_counter() - moved
    print(f"\naddress change to media flowing: {seconds:.1f} s")
    assert seconds <= 15
    for urls in minted.values():
        assert any("/api/v1/ice-servers" in url for url in urls), minted


@pytest.fixture
def udp_blocked(bed: NetBed) -> None:
    """No UDP from the officer's namespace to coturn (a network that lets only TCP out)."""
    bed.block_udp_to_shared("officer")


async def test_the_call_connects_over_turn_tcp_when_udp_is_blocked(
    bed: NetBed,
    udp_blocked: None,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
) -> None:
    """With UDP to the TURN server blocked on the officer's side, the officer relays over TURN
    on TCP (the `?transport=tcp` URL) and the call connects with video both ways."""
    officer, clinician = await pages(net_server, origin, officer_browser, clinician_browser)
    seconds = await connected_call(officer, clinician)
    print(f"\nsetup through TURN over TCP: {seconds:.2f} s")
    assert (await netcall.route(officer))["routeLocal"] == f"relay/tcp {bed.shared}"
