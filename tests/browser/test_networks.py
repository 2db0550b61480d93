"""The call on real networks: two Chromiums in separate network namespaces with no route
between them, a real coturn, and the link squeezed or the officer's address changed mid-call.

Needs root, iproute2 and coturn (scripts/test installs it); skipped with the reason where
`ip netns` cannot run. The address change runs TRIAGE_NETWORK_RUNS times in one call (3 by
default); `scripts/measure_network` runs it 20 times for the figures in the README.
"""

from __future__ import annotations

import functools
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Playwright

from conftest import PASSWORD, REDIS_URL, create_account
from support import netbed, netcall
from support.coturn import coturn_unavailable, turnserver
from support.netbed import NetBed, netns_unavailable, network_bed
from support.participants import call_api, my_id, wait_tile_playing
from triage_service.domain.codes import Role
from triage_service.settings import Settings

from .conftest import BROWSER_LOG, keep_log

REASON = netns_unavailable() or coturn_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
TURN_SECRET = secrets.token_hex(16)
RUNS = int(os.environ.get("TRIAGE_NETWORK_RUNS", "3"))
BACK_WITHIN_S = 25  # an address change to media back on both pages, at most
# A restart that cannot bring media back, whatever the cause: restartIce() does nothing.
RESTART_DOES_NOTHING = """(() => {
  RTCPeerConnection.prototype.restartIce = function () {};
})()"""
# The connection-state values the page shows, in order (window.connectionStates).
RECORD_STATES = """() => {
  const shown = document.querySelector('[data-testid="connection-state"]');
  window.connectionStates = [shown.textContent];
  new MutationObserver(() => window.connectionStates.push(shown.textContent))
    .observe(shown, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def bed() -> Iterator[NetBed]:
    """The officer's and the clinician's namespaces, torn down afterwards."""
    with network_bed() as made:
        yield made


@pytest.fixture
def turn_port(bed: NetBed) -> Iterator[int]:
    """coturn on the shared address, for the service's TURN secret."""
    with turnserver(bed.shared, TURN_SECRET, bed.router) as port:
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
    """The service on the shared address in the bed's router, reachable from both sides."""
    test_server = TestServer(app, host=bed.shared, socket_factory=bed.listening_socket)
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


@pytest.fixture
def browser_log(request: pytest.FixtureRequest) -> list[str]:
    """What the test's pages log, shown when it fails (`keep_log`)."""
    log: list[str] = request.node.stash.setdefault(BROWSER_LOG, [])
    return log


async def pages(
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    log: list[str],
) -> tuple[Page, Page]:
    """A signed-in officer page and clinician page, each in its own namespace, keeping their
    peer connections in window.peerConnections; what they log goes to `log`."""
    officer = await create_account(net_server.app, Role.OFFICER)
    clinician = await create_account(net_server.app, Role.CLINICIAN)
    made = []
    for role, browser, user in (
        ("officer", officer_browser, officer),
        ("clinician", clinician_browser, clinician),
    ):
        logged = functools.partial(keep_log, role=role, log=log)
        page = await netcall.signed_in(browser, origin, user.username, PASSWORD, logged)
        await page.context.add_init_script(netcall.KEEP_CONNECTIONS)
        made.append(page)
    return made[0], made[1]


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


async def move_officer(bed: NetBed, officer: Page, clinician: Page) -> float:
    """Change the officer's address mid-call; returns seconds until media is back on both
    pages (connected, video arriving and decoded again after it stopped), then checks that
    both remote videos play."""
    for page in (officer, clinician):
        await netcall.watch_media(page)
    bed.move("officer")
    seconds = max([await netcall.media_back(page, timeout_s=45) for page in (officer, clinician)])
    for page in (officer, clinician):
        await netcall.wait_playing(page)
    return seconds


async def test_call_connects_through_turn_without_a_direct_route(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    browser_log: list[str],
) -> None:
    """With no route between the two namespaces the call connects through the TURN relay
    within 3 s of both session pages opening, with video playing both ways."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
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
    browser_log: list[str],
) -> None:
    """Squeezing the officer's link to 40 kbit/s each way moves the call to audio by itself
    within 15 s; both pages show the mode and say why in plain words, and audio stays up."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
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


@pytest.mark.timeout(60 + 40 * RUNS)
async def test_the_call_comes_back_after_the_officers_address_changes(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    browser_log: list[str],
) -> None:
    """Each time the officer's address changes mid-call (old sockets go silent; RUNS times in
    one call), the call comes back by itself: media stops, then video plays both ways again
    within 25 s (there is no route but the relay), every time. Before each recovery each page
    mints new TURN credentials (theirs were near expiry)."""
    both = await pages(net_server, origin, officer_browser, clinician_browser, browser_log)
    officer, clinician = both
    await connected_call(officer, clinician)
    minted: dict[str, list[str]] = {"officer": [], "clinician": []}
    officer.on("request", lambda request: minted["officer"].append(request.url))
    clinician.on("request", lambda request: minted["clinician"].append(request.url))
    times = []
    for run in range(1, RUNS + 1):
        for urls in minted.values():
            urls.clear()
        seconds = await move_officer(bed, officer, clinician)
        times.append(seconds)
        print(f"\naddress change {run}/{RUNS}: media back on both pages after {seconds:.1f} s")
        for urls in minted.values():
            assert any("/api/v1/ice-servers" in url for url in urls), minted
        await officer.wait_for_timeout(2000)
    built = [await page.evaluate("() => window.peerConnections.length") for page in both]
    print(
        f"\n{RUNS} address changes, all back: median {statistics.median(times):.1f} s,"
        f" max {max(times):.1f} s ({', '.join(f'{t:.1f}' for t in times)});"
        f" peer connections built: officer {built[0]}, clinician {built[1]}"
    )
    assert max(times) <= BACK_WITHIN_S


async def test_a_call_whose_ice_restart_cannot_work_comes_back_on_new_connections(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    browser_log: list[str],
) -> None:
    """When the officer's address changes and ICE restarts cannot bring media back (here the
    clinician's restartIce() does nothing), both pages build a new peer connection a few
    seconds after they hear each other again, negotiate it over the live channel, and video
    plays both ways within 25 s; meanwhile `connection-state` never says `connecting` (the
    call is `disconnected` until the new connection is up)."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
    await clinician.context.add_init_script(RESTART_DOES_NOTHING)
    await connected_call(officer, clinician)
    for page in (officer, clinician):
        assert await page.evaluate("() => window.peerConnections.length") == 1
        await page.evaluate(RECORD_STATES)
    seconds = await move_officer(bed, officer, clinician)
    print(f"\nno ICE restart, address change to media back on new connections: {seconds:.1f} s")
    assert seconds <= BACK_WITHIN_S
    for page in (officer, clinician):
        assert await page.evaluate("() => window.peerConnections.length") >= 2
        states = await page.evaluate("() => window.connectionStates")
        assert "connecting" not in states and states[-1] == "connected", states


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
    browser_log: list[str],
) -> None:
    """With UDP to the TURN server blocked on the officer's side, the officer relays over TURN
    on TCP (the `?transport=tcp` URL) and the call connects with video both ways."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
    seconds = await connected_call(officer, clinician)
    print(f"\nsetup through TURN over TCP: {seconds:.2f} s")
    assert (await netcall.route(officer))["routeLocal"] == f"relay/tcp {bed.shared}"


def test_beds_at_once_claim_their_own_names_and_remove_only_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test beds up at the same time on one machine (other engineers' runs) never share a
    tag, so never a namespace, interface or address: with only two tags to choose from, two
    beds take one each and a third is refused with a clear error; taking one bed down leaves
    the other's namespaces in place."""
    taken = netbed.namespaces()
    free = next(t for t in range(220, 250, 2) if netbed.namespace("officer", t) not in taken)
    monkeypatch.setattr(netbed, "TAGS", range(free, free + 2))
    with network_bed() as first, network_bed() as second:
        assert {first.tag, second.tag} == {free, free + 1}
        with pytest.raises(RuntimeError, match="no free network bed tag"), network_bed():
            pass
        mine = [second.ns("officer"), second.ns("clinician")]
        theirs = [first.ns("officer"), first.ns("clinician")]
        second.down()
        listed = netbed.namespaces()
        assert all(name in listed for name in theirs), listed
        assert not any(name in listed for name in mine), listed
    assert not any(name in netbed.namespaces() for name in theirs)


def test_a_bed_has_no_address_that_appears_after_it_is_up() -> None:
    """No namespace of a bed has an IPv6 address, not even a tentative one: a link-local
    address appeared some 1.6 s after `up()`, which the officer's Chromium took for a network
    change, failing its page's requests in flight (ERR_NETWORK_CHANGED: 3 of 15 probes loading
    a page of 40 modules in the bed's first four seconds, none of 12 without IPv6)."""
    with network_bed() as bed:
        for ns in (bed.router, bed.ns("officer"), bed.ns("clinician")):
            found = subprocess.run(
                ["ip", "-n", ns, "-6", "address"], capture_output=True, text=True, check=True
            )
            assert found.stdout == "", (ns, found.stdout)


# Each connected peer connection's local candidate types gathered and its selected pair's
# candidate types (the page's context needs netcall.KEEP_CONNECTIONS).
CONNECTION_ROUTES = """async () => {
  const found = [];
  for (const pc of window.peerConnections) {
    if (pc.connectionState !== 'connected') continue;
    const stats = [...(await pc.getStats()).values()];
    const byId = Object.fromEntries(stats.map((s) => [s.id, s]));
    const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport && byId[transport.selectedCandidatePairId];
    found.push({
      gathered: stats.filter((s) => s.type === 'local-candidate').map((s) => s.candidateType),
      local: pair && byId[pair.localCandidateId]?.candidateType,
      remote: pair && byId[pair.remoteCandidateId]?.candidateType,
    });
  }
  return found;
}"""


async def invite_guest(clinician: Page, name: str, role: str) -> dict[str, Any]:
    """The session's clinician makes a guest link (the API's 201 answer: id, url)."""
    request_id = clinician.url.rstrip("/").rsplit("/", 1)[-1]
    made = await call_api(
        clinician,
        "POST",
        f"/api/v1/requests/{request_id}/guests",
        {"display_name": name, "role": role},
    )
    assert made["status"] == 201, made
    return made


async def test_a_guest_joins_through_turn_with_credentials_of_their_own(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    browser_log: list[str],
) -> None:
    """A call of three with no route between the namespaces: a guest's phone beside the
    officer (a link from the clinician) connects to the clinician through the TURN relay,
    gathering relay candidates with its own credentials, while the officer and the clinician
    stay connected through TURN as before."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
    await connected_call(officer, clinician)
    made = await invite_guest(clinician, "Ana Interpreter", "interpreter")
    context = await officer_browser.new_context(base_url=origin)
    await context.grant_permissions(["camera", "microphone"], origin=origin)
    await context.add_init_script(netcall.KEEP_CONNECTIONS)
    guest = await context.new_page()
    await guest.goto(made["body"]["url"])
    clinician_id = await my_id(clinician)
    await wait_tile_playing(guest, clinician_id, timeout=45000)
    await wait_tile_playing(clinician, made["body"]["id"], timeout=45000)
    routes = await guest.evaluate(CONNECTION_ROUTES)
    assert any("relay" in r["gathered"] for r in routes), routes
    assert any("relay" in (r["local"], r["remote"]) for r in routes), routes
    await netcall.wait_connected(officer)
    await netcall.wait_playing(officer)


async def test_the_officer_losing_the_network_leaves_the_clinician_and_guest_connected(
    bed: NetBed,
    net_server: TestServer,
    origin: str,
    officer_browser: Browser,
    clinician_browser: Browser,
    browser_log: list[str],
) -> None:
    """A call of three (a guest beside the clinician): the officer's link goes down without a
    word; the clinician and the guest stay connected with video playing; when the officer's
    link comes back, so does the officer's call with both."""
    officer, clinician = await pages(
        net_server, origin, officer_browser, clinician_browser, browser_log
    )
    await connected_call(officer, clinician)
    made = await invite_guest(clinician, "Sam Social Worker", "other")
    context = await clinician_browser.new_context(base_url=origin)
    await context.grant_permissions(["camera", "microphone"], origin=origin)
    guest = await context.new_page()
    await guest.goto(made["body"]["url"])
    guest_id, clinician_id = made["body"]["id"], await my_id(clinician)
    officer_id = await my_id(officer)
    for page, other in ((guest, clinician_id), (guest, officer_id), (clinician, guest_id)):
        await wait_tile_playing(page, other, timeout=45000)

    side = bed.sides["officer"]
    netbed.run("ip", "link", "set", side.ns_if, "down", ns=side.ns)
    await clinician.wait_for_function(
        "() => document.querySelector('[data-testid=\"connection-state\"]')"
        "?.textContent !== 'connected'",
        timeout=30000,
    )
    for _ in range(5):  # the two left keep talking while the officer is gone
        await wait_tile_playing(clinician, guest_id)
        await wait_tile_playing(guest, clinician_id)

    netbed.run("ip", "link", "set", side.ns_if, "up", ns=side.ns)
    bed.route_to_shared(side)
    await netcall.wait_connected(officer, timeout_s=60)
    await wait_tile_playing(officer, guest_id, timeout=60000)
    await wait_tile_playing(guest, officer_id, timeout=60000)
