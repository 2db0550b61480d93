"""The printable documents in Chromium: each has a Print button that prints the page."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from conftest import OUTCOME_FORM, SignInFactory, new_request
from support.forms import PLACE_OF_SAFETY, outcome
from triage_service.web.state import STORE

from .conftest import PageFactory

CATCH_PRINT = "() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }"


async def file_from(page: Page, request_id: str, body: dict[str, Any]) -> None:
    """Accept the request and file `body` as its outcome from the clinician's page."""
    csrf = (await (await page.request.get("/api/v1/me")).json())["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    path = f"/api/v1/requests/{request_id}"
    assert (await page.request.post(f"{path}/accept", headers=headers)).ok
    filed = await page.request.post(f"{path}/outcome", data=body, headers=headers)
    assert filed.status == 201, await filed.text()


async def prints(page: Page, path: str) -> None:
    """Open the document: its Print button shows and prints the page; print media hides it."""
    await page.goto(path)
    button = page.get_by_test_id("print")
    await button.wait_for()
    await page.evaluate(CATCH_PRINT)
    await button.click()
    assert await page.evaluate("document.body.dataset.printed") == "yes"
    await page.emulate_media(media="print")
    assert await button.is_hidden()
    await page.emulate_media(media="screen")


async def test_handover_and_s298_notice_have_a_print_button(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """The clinician's handover of a referral and the s298 notice of a place-of-safety outcome
    each show a Print button that prints, hidden on paper."""
    clinician = await open_page(server, "clinician")
    referred = await new_request(await sign_in("officer"))
    await file_from(clinician, referred["id"], OUTCOME_FORM)
    await prints(clinician, f"/api/v1/requests/{referred['id']}/handover")
    removed = await new_request(await sign_in("officer"))
    await file_from(
        clinician,
        removed["id"],
        outcome("place_of_safety_s297", "B", place_of_safety=PLACE_OF_SAFETY),
    )
    record = await server.app[STORE].requests.load(removed["id"])
    assert record is not None
    await prints(clinician, f"/api/v1/referrals/{record.notice_id}/s298-notice")
