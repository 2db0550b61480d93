"""A real call between two Chromiums, each inside its own network namespace of a NetBed.

Each browser is Debian's Chromium started through a wrapper that runs it under
`ip netns exec`, with a fake camera and microphone, and with the service's plain-http origin
treated as secure so getUserMedia works. Used by tests/browser/test_networks.py and by
`scripts/measure_network`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright, Request
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from triage_tools.measure_call import ARGS, CHROMIUM

HOME = {"officer": "/officer", "clinician": "/console"}
# The remote video has a size and both its time and its frame count advance between polls.
PLAYING = """() => {
  const video = document.querySelector('[data-testid="remote-video"]');
  if (!video || video.videoWidth === 0) return false;
  const now = [video.currentTime, video.getVideoPlaybackQuality().totalVideoFrames];
  const seen = JSON.parse(video.dataset.seen || '[-1, -1]');
  video.dataset.seen = JSON.stringify(now);
  return seen[0] >= 0 && now[0] > seen[0] && now[1] > seen[1];
}"""

# Keeps every peer connection the page makes in window.peerConnections (for WATCH_MEDIA);
# added to a context before its session page opens.
KEEP_CONNECTIONS = """(() => {
  const Native = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})()"""
# Follows the video arriving on the page's current peer connection (getStats every 100 ms)
# from the moment it is called: no video packet for 0.5 s is "media gone"; after that, video
# packets arriving for 1 s without a gap over 0.3 s, with frames decoded meanwhile, is "media
# back", timed from the first packet of that run. (The remote video element is no measure:
# Chrome can keep counting its frames through an outage.)
WATCH_MEDIA = """() => {
  clearInterval(window.__mediaWatch);
  const g = { start: performance.now(), pc: null, packets: 0, frames: 0, last: performance.now(),
              gone: false, run: null, runFrames: 0, back: null };
  window.__media = g;
  window.__mediaWatch = setInterval(async () => {
    const pc = window.peerConnections[window.peerConnections.length - 1];
    if (!pc || g.back !== null) return;
    let packets = 0, frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        packets = s.packetsReceived || 0;
        frames = s.framesDecoded || 0;
      }
    });
    const now = performance.now();
    if (pc !== g.pc) Object.assign(g, { pc, packets: 0, frames: 0 });  // a new connection
    if (packets > g.packets) {
      if (g.gone) {
        if (g.run === null || now - g.last > 300) Object.assign(g, { run: now, runFrames: frames });
        if (now - g.run >= 1000 && frames - g.runFrames >= 5) g.back = g.run;
      }
      g.last = now;
    } else if (!g.gone && now - g.last >= 500) g.gone = true;
    Object.assign(g, { packets, frames });
  }, 100);
}"""
MEDIA_BACK = """() => {
  const g = window.__media;
  const state = document.querySelector('[data-testid="connection-state"]')?.textContent;
  return g.back !== null && state === 'connected' ? (g.back - g.start) / 1000 : null;
}"""


def wrapper(ns: str, directory: Path) -> Path:
    """An executable that runs Chromium inside `ns` with the arguments Playwright gives it."""
    path = directory / f"chromium-{ns}"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


async def launch_in(driver: Playwright, ns: str, origin: str, directory: Path) -> Browser:
    """Chromium inside `ns`, treating the service's http `origin` as a secure one."""
    return await driver.chromium.launch(
        executable_path=str(wrapper(ns, directory)),
        args=[*ARGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"],
    )


# Each page's requests not yet finished (URL → when sent), for a failure's message
# (`page_state`); what failed, the test's browser log shows (`keep_log`).
UNFINISHED: dict[Page, dict[str, float]] = {}


def follow_unfinished(page: Page) -> None:
    """Keep `page`'s requests not yet finished or failed in UNFINISHED."""
    unfinished = UNFINISHED.setdefault(page, {})

    def sent(request: Request) -> None:
        unfinished[request.url] = time.monotonic()

    def done(request: Request) -> None:
        unfinished.pop(request.url, None)

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)


async def signed_in(
    browser: Browser,
    origin: str,
    username: str,
    password: str,
    watch: Callable[[Page], None] = lambda page: None,
) -> Page:
    """A new context on `origin` signed in through the sign-in page, on the role's home page;
    `watch` is given the page before it loads anything (a test's `keep_log`)."""
    context = await browser.new_context(base_url=origin)
    await context.grant_permissions(["camera", "microphone"], origin=origin)
    page = await context.new_page()
    follow_unfinished(page)
    watch(page)
    await page.goto("/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/officer" if username.startswith("officer") else "**/console")
    return page


async def place_call(officer: Page, clinician: Page, incident_ref: str) -> float:
    """The officer asks (video), the clinician accepts; returns when both session pages are
    open, as time.perf_counter()."""
    await clinician.get_by_test_id("availability-toggle").click()
    await clinician.get_by_test_id("availability-status").filter(has_text="available").wait_for()
    try:
        await officer.get_by_test_id("request-form").wait_for(timeout=30000)
    except PlaywrightTimeoutError as e:  # seen twice: say what the page had instead
        raise AssertionError(f"the officer's form never showed: {await page_state(officer)}") from e
    await officer.get_by_test_id("incident-ref").fill(incident_ref)
    await officer.get_by_test_id("location-description").fill("Bus station, Buchanan St")
    await officer.get_by_test_id("consent").check()
    await officer.get_by_test_id("request-submit").click()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")
    await officer.get_by_test_id("connection-state").wait_for()
    return time.perf_counter()


PAGE_STATE = """() => ({
  ready: document.readyState,
  url: location.href,
  shown: [...document.querySelectorAll('[data-testid]')].filter((e) => e.offsetParent !== null)
    .map((e) => e.dataset.testid).slice(0, 20),
  loaded: performance.getEntriesByType('resource').map((r) => r.name.split('/').pop()),
})"""


async def page_state(page: Page) -> dict[str, Any]:
    """What `page` shows and has loaded, and the requests it still waits on (seconds since
    each was sent), for a failure's message."""
    state: dict[str, Any] = await page.evaluate(PAGE_STATE)
    now = time.monotonic()
    unfinished = UNFINISHED.get(page, {})
    state["waiting_on"] = {url: round(now - sent, 1) for url, sent in unfinished.items()}
    return state


async def wait_connected(page: Page, timeout_s: float = 20) -> None:
    """Wait until the session page shows `connected`."""
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"connection-state\"]')"
        "?.textContent === 'connected'",
        timeout=timeout_s * 1000,
        polling=100,
    )


async def wait_playing(page: Page, timeout_s: float = 20) -> None:
    """Wait until the remote video plays (its time and its frames advance)."""
    await page.wait_for_function(PLAYING, timeout=timeout_s * 1000, polling=200)


async def watch_media(page: Page) -> None:
    """Start following the video arriving on `page` (see WATCH_MEDIA; the page's context needs
    KEEP_CONNECTIONS); call just before breaking the link."""
    await page.evaluate(WATCH_MEDIA)


async def media_back(page: Page, timeout_s: float = 60) -> float:
    """Wait until media has stopped and come back on `page` (connected, video arriving and
    decoded for a second); returns seconds from watch_media to the first packet of its return."""
    found = await page.wait_for_function(MEDIA_BACK, timeout=timeout_s * 1000, polling=100)
    return float(await found.json_value())


async def wait_mode(page: Page, mode: str, timeout_s: float = 20) -> None:
    """Wait until `call-mode` shows `mode`."""
    await page.wait_for_function(
        "(mode) => document.querySelector('[data-testid=\"call-mode\"]')?.textContent === mode",
        arg=mode,
        timeout=timeout_s * 1000,
        polling=100,
    )


async def route(page: Page) -> dict[str, Any]:
    """The call's path as the page sees it: candidate type and transport of each end."""
    await page.wait_for_function(
        "() => !!document.getElementById('session')?.dataset.routeLocal", polling=200
    )
    found = await page.evaluate("() => ({ ...document.getElementById('session').dataset })")
    return {key: value for key, value in found.items() if key.startswith("route")}


async def notice(page: Page) -> str:
    """The call notice shown to this user."""
    return await page.get_by_test_id("call-notice").text_content() or ""
