"""The pages driven in a browser as their users drive them: sign in, fill and send the
officer's form, go available; shared by the browser tests and `scripts/screens`."""

from __future__ import annotations

from playwright.async_api import Page

HOME = {
    "officer": "/officer",
    "clinician": "/console",
    "supervisor": "/supervisor",
    "receiver": "/referrals",
}


async def sign_in_page(page: Page, username: str, password: str, role: str) -> None:
    """Sign in through the sign-in page and land on the role's page."""
    await page.goto("/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(f"**{HOME[role]}")


async def fill_request_form(
    page: Page, *, incident_ref: str = "PS-20261126-0042", mode: str = "video"
) -> None:
    """Fill the officer's form with a typical request (C-SSRS: yes to 1 and 2), not sent."""
    await page.get_by_test_id("incident-ref").fill(incident_ref)
    await page.get_by_test_id("location-description").fill("Bus station, Buchanan St")
    await page.get_by_test_id("location-area").fill("Glasgow City Centre")
    await page.get_by_test_id("age-band").select_option("26_40")
    await page.get_by_test_id("sex").select_option("female")
    await page.get_by_label("Suicidal thoughts").check()
    await page.get_by_test_id("cssrs-q1-yes").check()
    await page.get_by_test_id("cssrs-q2-yes").check()
    await page.get_by_test_id("cssrs-q3-no").check()
    await page.get_by_test_id("cssrs-q4-no").check()
    await page.get_by_test_id("cssrs-q5-no").check()
    await page.get_by_test_id("cssrs-q6-no").check()
    await page.get_by_test_id(f"mode-choice-{mode}").check()
    await page.get_by_test_id("consent").check()


async def send_request(page: Page) -> None:
    """Send the officer's filled form and wait for the waiting screen."""
    await page.get_by_test_id("request-submit").click()
    await page.get_by_test_id("waiting").wait_for()


async def fill_request(
    page: Page, *, incident_ref: str = "PS-20261126-0042", mode: str = "video"
) -> None:
    """Fill the officer's form with a typical request (C-SSRS: yes to 1 and 2) and send it."""
    await fill_request_form(page, incident_ref=incident_ref, mode=mode)
    await send_request(page)


async def go_available(page: Page) -> None:
    """Switch the console to available."""
    await page.get_by_test_id("availability-toggle").click()
    await page.get_by_test_id("availability-status").filter(has_text="available").wait_for()
