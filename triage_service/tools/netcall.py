"""A real call between two Chromiums, each inside its own network namespace of a NetBed.

Each browser is Debian's Chromium started through a wrapper that runs it under
`ip netns exec`, with a fake camera and microphone, and with the service's plain-http origin
treated as secure so getUserMedia works. Used by tests/browser/test_networks.py and by
`scripts/measure_network`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright

from triage_service.tools.measure_call import ARGS, CHROMIUM

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


async def signed_in(browser: Browser, origin: str, username: str, password: str) -> Page:
    """A new context on `origin` signed in through the sign-in page, on the role's home page."""
    context = await browser.new_context(base_url=origin)
    await context.grant_permissions(["camera", "microphone"], origin=origin)
    page = await context.new_page()
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
    await officer.get_by_test_id("incident-ref").fill(incident_ref)
    await officer.get_by_test_id("location-description").fill("Bus station, Buchanan St")
    await officer.get_by_test_id("consent").check()
    await officer.get_by_test_id("request-submit").click()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")
    await officer.get_by_test_id("connection-state").wait_for()
    return time.perf_counter()


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
