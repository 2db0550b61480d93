"""The officer's form draft belongs to the officer: it survives their reload and their
signing in again, and no other officer on the same phone ever sees it."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from conftest import PASSWORD, create_account
from triage_service.domain.codes import Role
from triage_service.service.sessions import end_user_sessions
from triage_service.web.state import STORE
from triage_tools.pages import sign_in_page

from .conftest import PHONE, PageFactory

DRAFT_KEYS = "() => Object.keys(sessionStorage).filter((k) => k.includes('draft'))"
NAME, NOTES = "Jane Example", "Sitting on the bridge parapet, calm now"


async def fill_draft(page: Page) -> None:
    """Type a name and notes into the request form (not sent)."""
    await page.get_by_test_id("known-name").fill(NAME)
    await page.get_by_test_id("notes").fill(NOTES)


async def test_sign_out_clears_the_draft_and_the_next_officer_starts_empty(
    server: TestServer, blank_page: PageFactory
) -> None:
    """The officer's draft comes back after a reload; after signing out no draft is left in
    the tab's storage, and the next officer signing in on that phone sees an empty form."""
    first = await create_account(server.app, Role.OFFICER)
    second = await create_account(server.app, Role.OFFICER)
    page = await blank_page(server, viewport=PHONE)  # one phone: one storage
    try:
        await sign_in_page(page, first.username, PASSWORD, "officer")
        await fill_draft(page)
        await page.reload()
        assert await page.get_by_test_id("known-name").input_value() == NAME
        await page.get_by_test_id("sign-out").click()
        await page.wait_for_url("**/")
        assert await page.evaluate(DRAFT_KEYS) == []
        await sign_in_page(page, second.username, PASSWORD, "officer")
        assert await page.get_by_test_id("known-name").input_value() == ""
        assert await page.get_by_test_id("notes").input_value() == ""
    finally:
        await page.context.close()


async def test_a_lapsed_officers_draft_is_not_shown_to_the_next(
    server: TestServer, blank_page: PageFactory
) -> None:
    """If the first officer's session ends without signing out, signing in again as them
    brings the draft back; another officer signing in instead gets an empty form, and the
    first officer's draft is deleted from the phone."""
    first = await create_account(server.app, Role.OFFICER)
    second = await create_account(server.app, Role.OFFICER)
    page = await blank_page(server, viewport=PHONE)  # one phone: one storage
    try:
        await sign_in_page(page, first.username, PASSWORD, "officer")
        await fill_draft(page)
        await end_user_sessions(server.app[STORE], first.id)
        await sign_in_page(page, first.username, PASSWORD, "officer")
        assert await page.get_by_test_id("notes").input_value() == NOTES
        await end_user_sessions(server.app[STORE], first.id)
        await sign_in_page(page, second.username, PASSWORD, "officer")
        assert await page.get_by_test_id("known-name").input_value() == ""
        assert await page.get_by_test_id("notes").input_value() == ""
        keys = await page.evaluate(DRAFT_KEYS)
        assert all(first.id not in key for key in keys), keys
    finally:
        await page.context.close()
