"""Screenshots of each page at its user's device size, for the README.

Starts the service in this process (its embedded redis-server under a temporary directory,
the two health boards of docs/areas.example.toml) on a free loopback port, creates the
accounts, backfills past days through the lifecycle scripts so the supervisor's dashboard
has figures (the alarms those days raised acknowledged, as their supervisors would have),
then drives Debian's Chromium with a fake camera and microphone through one
request, from the officer's phone to the receiving team's inbox, writing a PNG per page
and printing its path.

    scripts/screens [--out docs/screens] [--days 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from playwright.async_api import Browser, FloatRect, Page, ViewportSize, async_playwright

from triage_client.client import ServiceClient
from triage_client.forms import OUTCOME_FORM
from triage_service.domain.users import User
from triage_service.web.state import STORE
from triage_tools.measure_call import ARGS, CHROMIUM, PLAYING, service_in_process
from triage_tools.pages import fill_request_form, go_available, send_request, sign_in_page
from triage_tools.screen_cast import (
    AREAS_FILE,
    PASSWORD,
    REPORT_BOARD,
    WAITING,
    create_cast,
    hand_over,
    raise_waiting,
    rate_last_month,
)
from triage_tools.simulate.backfill import backfill
from triage_tools.simulate.shift import QUESTIONS

PHONE: ViewportSize = {"width": 360, "height": 740}
CONSOLE: ViewportSize = {"width": 1366, "height": 768}
DASHBOARD: ViewportSize = {"width": 1440, "height": 900}
REPORT: ViewportSize = {"width": 900, "height": 1270}  # about A4's proportions
# Every screenshot, in the order written, with the width of its device.
SHOTS = {
    "officer-nobody-on-duty": 360,
    "sign-in": 360,
    "officer-request": 360,
    "officer-waiting": 360,
    "console-queue": 1366,
    "officer-call": 360,
    "clinician-call": 1366,
    "call-of-three": 1366,
    "guest-call": 360,
    "outcome-form": 1366,
    "team-inbox": 1366,
    "supervisor": 1440,
    "supervisor-alarms": 1440,
    "board-report": 900,
}
INCIDENT = "PS-20261126-0042"
# The clinician's side panel as it opens: nothing focused, scrolled to the request's details.
SIDE_PANEL_AT_TOP = """() => {
  document.activeElement.blur();
  document.getElementById('side-body').scrollTop = 0;
}"""


@dataclass
class Camera:
    """Opens pages at a device size and writes their screenshots to `out`."""

    browser: Browser
    base: str
    out: Path
    errors: list[str] = field(default_factory=list)

    async def page(self, viewport: ViewportSize) -> Page:
        """A new page in its own context at `viewport`, camera and microphone granted."""
        context = await self.browser.new_context(base_url=self.base, viewport=viewport)
        await context.grant_permissions(["camera", "microphone"], origin=self.base)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    async def shoot(self, page: Page, name: str, *, full_page: bool = False) -> None:
        """Write `name`.png of the page as it is now and print its path."""
        path = self.out / f"{name}.png"
        await page.screenshot(path=path, full_page=full_page, animations="disabled")
        print(path, flush=True)


@contextlib.asynccontextmanager
async def on_duty(base: str, username: str) -> AsyncIterator[ServiceClient]:
    """Another clinician available with the live channel open, over the API, so one on the
    pages moving from console to call never leaves nobody on duty."""
    clinician = ServiceClient(base)
    try:
        await clinician.sign_in(username, PASSWORD)
        await clinician.open_live()
        await clinician.request("PUT", "/api/v1/availability", {"status": "available"})
        yield clinician
    finally:
        await clinician.close()


async def chat(sender: Page, receiver: Page, text: str) -> None:
    """Send a chat message from one page and wait for it on the other."""
    await sender.get_by_test_id("chat-input").fill(text)
    await sender.get_by_test_id("chat-send").click()
    await receiver.get_by_test_id("chat-log").get_by_text(text).wait_for()


async def nobody_on_duty(
    camera: Camera, app: web.Application, officer: User, supervisor: User
) -> None:
    """An officer asking while no clinician is on duty: the phone line at the top of the
    waiting screen; then the request is cancelled and the alarm it raised acknowledged."""
    page = await camera.page(PHONE)
    await sign_in_page(page, officer.username, PASSWORD, "officer")
    await fill_request_form(page, incident_ref="PS-20261126-0040")
    await page.get_by_test_id("location-area-id").select_option("glasgow-centre")
    await send_request(page)
    await page.get_by_test_id("fallback-phone").wait_for()
    await camera.shoot(page, "officer-nobody-on-duty")
    await page.get_by_test_id("cancel-request").click()
    await page.get_by_test_id("cancel-confirm").click()
    await page.get_by_test_id("request-ended").wait_for()
    await page.context.close()
    await hand_over(app, supervisor)


async def request_to_call(
    camera: Camera, app: web.Application, users: dict[str, list[User]]
) -> Page:
    """Sign-in, the officer's form and wait, the console's queue and the call; returns the
    clinician's session page."""
    officer, clinician = await camera.page(PHONE), await camera.page(CONSOLE)
    await officer.goto("/")
    await camera.shoot(officer, "sign-in")
    await sign_in_page(officer, users["officer"][0].username, PASSWORD, "officer")
    await sign_in_page(clinician, users["clinician"][0].username, PASSWORD, "clinician")
    await go_available(clinician)
    await raise_waiting(app, users["officer"][1:])
    await fill_request_form(officer, incident_ref=INCIDENT)
    await officer.get_by_test_id("location-area-id").select_option("glasgow-centre")
    await camera.shoot(officer, "officer-request", full_page=True)
    await send_request(officer)
    await officer.get_by_test_id("queue-estimate").filter(has_text="Estimated wait").wait_for()
    await camera.shoot(officer, "officer-waiting")
    item = clinician.get_by_test_id("queue-item")
    await item.nth(len(WAITING)).wait_for()
    await camera.shoot(clinician, "console-queue")
    await item.filter(has_text=INCIDENT).get_by_test_id("accept-request").click()
    for page in (officer, clinician):
        await page.wait_for_url("**/session/*")
    for page in (officer, clinician):
        await page.wait_for_function(PLAYING, polling=200, timeout=30000)
    await chat(clinician, officer, QUESTIONS[0])
    await clinician.evaluate(SIDE_PANEL_AT_TOP)
    await camera.shoot(officer, "officer-call")
    await camera.shoot(clinician, "clinician-call")
    return clinician


# A participant's connection is up with their video showing on the page.
TILE_SHOWING = """(id) => {
  const tile = document.querySelector(`[data-participant-id="${id}"]`);
  return tile?.dataset.state === 'connected' && tile.querySelector('video')?.videoWidth > 0;
}"""


async def call_of_three(camera: Camera, clinician: Page) -> None:
    """An interpreter joins the call by a guest link made in the clinician's People panel."""
    await clinician.get_by_test_id("tab-people").click()
    await clinician.get_by_test_id("guest-name").fill("Ana Interpreter")
    await clinician.get_by_test_id("guest-invite").click()
    await clinician.get_by_test_id("guest-link").wait_for()  # shown once the link is made
    guest = await camera.page(PHONE)
    await guest.goto(await clinician.get_by_test_id("guest-link").input_value())
    guest_id = await guest.locator("#join").get_attribute("data-me")
    await clinician.wait_for_function(TILE_SHOWING, arg=guest_id, polling=200, timeout=30000)
    await chat(guest, clinician, "Hola, soy la intérprete.")
    await clinician.evaluate("document.activeElement.blur()")
    await camera.shoot(clinician, "call-of-three")
    await guest.locator("#join[data-state=connected]").wait_for()
    await guest.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    await camera.shoot(guest, "guest-call")


async def outcome(camera: Camera, clinician: Page) -> None:
    """The outcome form filled in the session's side panel, then filed."""
    await clinician.get_by_test_id("tab-outcome").click()
    await clinician.get_by_test_id("outcome-triage-code").select_option("C")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "urgent_face_to_face"
    )
    await clinician.get_by_test_id("referral-service").select_option("crisis_team")
    await clinician.get_by_test_id("risk-to_self").select_option("high")
    await clinician.get_by_test_id("risk-to_others").select_option("low")
    await clinician.get_by_test_id("outcome-summary").fill(OUTCOME_FORM["summary"])
    await clinician.get_by_test_id("outcome-advice-input").fill(OUTCOME_FORM["advice_to_officer"])
    await clinician.get_by_test_id("officer-can-leave-no").check()  # stays until the team comes
    await clinician.evaluate("document.activeElement.blur()")
    await clinician.get_by_test_id("outcome-form").evaluate("(form) => form.scrollIntoView()")
    await camera.shoot(clinician, "outcome-form")
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_text("Outcome filed").wait_for()


async def open_inbox(camera: Camera) -> Page:
    """The receiving team's inbox, open before the referral is made (so that it rings)."""
    receiver = await camera.page(CONSOLE)
    await sign_in_page(receiver, "receiver", PASSWORD, "receiver")
    await receiver.get_by_test_id("live-state").filter(has_text="Live.").wait_for()
    return receiver


async def inbox_and_dashboard(camera: Camera, receiver: Page) -> None:
    """The team's inbox as the new referral arrives, the supervisor's dashboard and its
    alarm list (open alarms by cause; those acknowledged folded below)."""
    await receiver.get_by_test_id("inbox-new").wait_for()
    await camera.shoot(receiver, "team-inbox")
    supervisor = await camera.page(DASHBOARD)
    await sign_in_page(supervisor, "supervisor", PASSWORD, "supervisor")
    await supervisor.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    for drawn in (
        "[data-testid=sup-heatmap] svg rect.heat",
        "[data-testid=sup-chart-service-level] svg circle.dot",
        "[data-testid=sup-chart-waits] svg rect.bar",
        "[data-testid=sup-chart-dispositions] svg rect.bar",
    ):
        await supervisor.locator(drawn).first.wait_for()
    await camera.shoot(supervisor, "supervisor", full_page=True)
    box = await supervisor.locator(".alarm-records").bounding_box()
    assert box is not None
    clip: FloatRect = {
        "x": 0,
        "y": box["y"] + await supervisor.evaluate("window.scrollY") - 8,
        "width": DASHBOARD["width"],
        "height": box["height"] + 16,
    }
    await supervisor.screenshot(
        path=camera.out / "supervisor-alarms.png", clip=clip, full_page=True, animations="disabled"
    )
    print(camera.out / "supervisor-alarms.png", flush=True)
    await supervisor.set_viewport_size(REPORT)
    await supervisor.get_by_test_id(f"sup-report-{REPORT_BOARD}").click()
    await supervisor.get_by_test_id("report").wait_for()
    await camera.shoot(supervisor, "board-report", full_page=True)


async def take(out: Path, *, days: int, chromium: str) -> list[str]:
    """Run the service and the browser and write every screenshot; return page errors."""
    out.mkdir(parents=True, exist_ok=True)
    async with service_in_process(areas_file=str(AREAS_FILE)) as (app, base):
        users = await create_cast(app[STORE])
        if days:
            print(f"backfilling {days} days …", file=sys.stderr, flush=True)
            await backfill(
                app[STORE],
                users,
                days=days,
                per_day=36,
                seed=1,
                max_wait_s=900,
                areas_file=str(AREAS_FILE),
            )
            await hand_over(app, users["supervisor"][0])
            await rate_last_month(app, users["officer"])
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=chromium, args=ARGS)
            camera = Camera(browser, base, out)
            try:
                await nobody_on_duty(camera, app, users["officer"][0], users["supervisor"][0])
                async with on_duty(base, users["clinician"][1].username):
                    clinician = await request_to_call(camera, app, users)
                    await call_of_three(camera, clinician)
                    receiver = await open_inbox(camera)
                    await outcome(camera, clinician)
                    await inbox_and_dashboard(camera, receiver)
            finally:
                await browser.close()
    return camera.errors


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, check Chromium is there, write the screenshots."""
    parser = argparse.ArgumentParser(prog="scripts/screens", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/screens"),
        help="where to write (default docs/screens)",
    )
    parser.add_argument(
        "--days", type=int, default=30, help="days of history to backfill (default 30; 0: none)"
    )
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    args = parser.parse_args(argv)
    if not os.access(args.chromium, os.X_OK):
        raise SystemExit(
            f"screens: no Chromium at {args.chromium}: install Debian's chromium package "
            "(apt-get install chromium) or give --chromium PATH"
        )
    errors = asyncio.run(take(args.out, days=args.days, chromium=args.chromium))
    if errors:
        raise SystemExit("screens: script errors in the pages:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
