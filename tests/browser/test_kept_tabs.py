"""Kept tabs (tests/support/tabs.py): a tab another test used carries nothing of it."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from .conftest import PageFactory, SharedBrowsers


async def test_a_kept_tab_comes_back_blank_and_signed_in_as_the_next_person(
    server: TestServer, open_page: PageFactory, shared_browsers: SharedBrowsers
) -> None:
    first = await open_page(server, "officer")
    await first.evaluate(
        "() => { localStorage.setItem('left', '1'); sessionStorage.setItem('left', '1'); }"
    )
    await shared_browsers.tabs.take_back()

    again = await open_page(server, "clinician")
    assert again is first
    assert await again.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]
    me = await (await again.request.get("/api/v1/me")).json()
    assert me["user"]["role"] == "clinician"
    assert len(await again.context.cookies()) == 1  # the new sign-in's only


async def test_a_tab_a_test_changed_in_ways_that_last_is_not_kept(
    server: TestServer, open_page: PageFactory, shared_browsers: SharedBrowsers
) -> None:
    with_clock = await open_page(server, "officer")
    await with_clock.clock.install()
    with_listener = await open_page(server, "officer")
    with_listener.on("dialog", lambda dialog: None)
    await shared_browsers.tabs.take_back()

    assert with_clock.is_closed() and with_listener.is_closed()
    fresh = await open_page(server, "officer")
    assert fresh not in (with_clock, with_listener)
