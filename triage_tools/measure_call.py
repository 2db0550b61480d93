"""Measure, in real browsers, the time from the clinician's Accept click to both videos playing.

Starts the service in this process (with its embedded redis-server under a temporary
directory) on a free loopback port, and Debian's Chromium with a fake camera and microphone.
Each run: a fresh officer and clinician sign in through the pages, the officer sends the
form, the clinician goes available and clicks Accept on the request that appears on the
console; the clock runs from just before that click until the remote video on both session
pages has a size and has started playing. Prints each run and the median.

    scripts/measure_call [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator

from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from triage_service.domain.codes import Role
from triage_service.service.accounts import hash_password, save_user
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.state import STORE

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "measure-call-not-secret"
PLAYING = """() => {
  const video = document.querySelector('[data-testid="remote-video"]');
  return !!video && video.videoWidth > 0 && !video.paused && video.currentTime > 0;
}"""


async def signed_in_page(browser: Browser, base: str, username: str, home: str) -> Page:
    """A new browser context signed in through the sign-in page."""
    context = await browser.new_context(base_url=base)
    await context.grant_permissions(["camera", "microphone"], origin=base)
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(f"**{home}")
    return page


async def one_call(browser: Browser, app: web.Application, base: str, password_hash: str) -> float:
    """Seconds from the Accept click to remote video playing on both session pages."""
    tag = secrets.token_hex(3)
    for role in (Role.OFFICER, Role.CLINICIAN):
        await save_user(
            app[STORE], username=f"{role.value}-{tag}", role=role, password_hash=password_hash
        )
    officer = await signed_in_page(browser, base, f"officer-{tag}", "/officer")
    clinician = await signed_in_page(browser, base, f"clinician-{tag}", "/console")
    await clinician.get_by_test_id("availability-toggle").click()
    await officer.get_by_test_id("incident-ref").fill(f"PS-MEASURE-{tag}")
    await officer.get_by_test_id("location-description").fill("Bus station, Buchanan St")
    await officer.get_by_test_id("consent").check()
    await officer.get_by_test_id("request-submit").click()
    accept = clinician.get_by_test_id("accept-request")
    await accept.wait_for()
    started = time.perf_counter()
    await accept.click()
    await clinician.wait_for_url("**/session/*")
    await officer.wait_for_url("**/session/*")
    await asyncio.gather(
        *(
            page.wait_for_function(PLAYING, polling="raf", timeout=30000)
            for page in (officer, clinician)
        )
    )
    elapsed = time.perf_counter() - started
    for page in (officer, clinician):
        await page.context.close()
    return elapsed


@contextlib.asynccontextmanager
async def service_in_process(
    *, key_prefix: str = "triage:", areas_file: str | None = None
) -> AsyncIterator[tuple[web.Application, str]]:
    """The service in this process on a free loopback port, its embedded redis-server under a
    temporary directory: yields the app and its base URL, and removes both afterwards."""
    with tempfile.TemporaryDirectory(prefix="triage-tool-") as data_dir:
        app = create_app(
            # Screenshots and measurements sign in as a supervisor with a password alone.
            Settings(
                data_dir=data_dir,
                key_prefix=key_prefix,
                areas_file=areas_file,
                mfa_required_roles="",
            )
        )
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            yield app, f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()


async def measure(runs: int) -> list[float]:
    """Run the service and the browser; return the seconds of each run."""
    async with service_in_process(key_prefix="measure:") as (app, base):
        password_hash = await hash_password(PASSWORD)
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            results = []
            for run in range(1, runs + 1):
                results.append(await one_call(browser, app, base, password_hash))
                print(f"run {run}: {results[-1] * 1000:.0f} ms", file=sys.stderr)
            await browser.close()
    return results


def main() -> None:
    """Parse the arguments, measure, print the median."""
    parser = argparse.ArgumentParser(
        prog="scripts/measure_call", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="calls to measure (default 5)")
    results = asyncio.run(measure(parser.parse_args().runs))
    print(
        f"accept → both videos playing: median {statistics.median(results) * 1000:.0f} ms "
        f"over {len(results)} runs (min {min(results) * 1000:.0f}, "
        f"max {max(results) * 1000:.0f})"
    )


if __name__ == "__main__":
    main()
