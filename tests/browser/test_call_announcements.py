"""Screen readers hear the call's changes, not its clock: a named polite region says when the
connection is lost, when it is back, and when the call changes type."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from .conftest import PageFactory, accepted_session, live_regions


async def test_call_state_changes_are_announced_and_the_clock_is_not(
    server: TestServer, open_page: PageFactory
) -> None:
    """Connected, the officer's page says so in its "Call status" region; offline, it says the
    connection is lost and it is reconnecting; back online, "Reconnected"; when the clinician
    switches to audio, that the call is now audio. Every live region is named and none holds
    the call's ticking timer."""
    officer, clinician = await accepted_session(server, open_page)
    await officer.wait_for_url("**/session/*")
    announcer = officer.get_by_test_id("call-announcer")
    assert await announcer.get_attribute("role") == "status"
    assert await announcer.get_attribute("aria-label") == "Call status"
    await announcer.filter(has_text="Connected to the clinician.").wait_for(state="attached")
    for page in (officer, clinician):
        regions = await live_regions(page)
        assert regions and all(r["name"] for r in regions), regions
        assert not any(r["hasClock"] for r in regions), regions
    await officer.context.set_offline(True)
    await announcer.filter(has_text="Connection lost; reconnecting.").wait_for(
        state="attached", timeout=20000
    )
    await officer.context.set_offline(False)
    await announcer.filter(has_text="Reconnected.").wait_for(state="attached", timeout=20000)
    await clinician.get_by_test_id("mode-audio").click()
    await announcer.filter(has_text="The call is now audio.").wait_for(
        state="attached", timeout=20000
    )
