"""The supervisor's alarm list as a triage tool: grouped by cause, critical first and oldest
first, critical unmistakable; several acknowledged with one note without losing focus; the
acknowledged ones with their notes in a folded history; a new critical alarm announced and
sounded again every minute until acknowledged."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Locator, Page

from support.alarms import raise_alarm
from triage_service.web.state import STORE

from .conftest import NO_SIDEWAYS_SCROLL, PageFactory, assert_accessible

ORDER_IDS = """() => [...document.querySelectorAll('#alarm-list > li')]
  .map((li) => li.dataset.alarmId)"""
FOCUS_IN_LIST = "() => document.activeElement?.closest('#alarm-list li')?.dataset.alarmId"


def in_list(page: Page, alarm_id: str) -> Locator:
    """The alarm's item in the open list (not in the history)."""
    return page.locator(f"#alarm-list [data-alarm-id='{alarm_id}']")


async def open_list(page: Page, count: int) -> None:
    """Wait until the list shows `count` alarms."""
    await page.locator(f"#alarm-list > li:nth-child({count})").wait_for()


async def test_alarms_are_sorted_grouped_and_acknowledged_together(
    server: TestServer, open_page: PageFactory
) -> None:
    """Five alarms of two causes show critical-first cause first, critical before warning
    and oldest first within a cause, a heading per cause; a critical one has its own heavy
    red band and a tag with an icon and the word. Ticking two and acknowledging them with one
    note takes both off, keeps focus in the list, and the folded history holds them with the
    note; the page passes axe with the list, and in dark mode; at 320 px wide nothing
    scrolls sideways."""
    store = server.app[STORE]
    c = await raise_alarm(store, "expired", "critical", 10)
    b = await raise_alarm(store, "expired", "critical", 5)
    d = await raise_alarm(store, "referral_declined", "warning", 60)
    a = await raise_alarm(store, "referral_declined", "warning", 30)
    e = await raise_alarm(store, "referral_declined", "critical", 2)
    page = await open_page(server, "supervisor")
    await open_list(page, 5)
    assert await page.evaluate(ORDER_IDS) == [c, b, e, d, a]
    groups = page.get_by_test_id("alarm-group")
    assert await groups.count() == 2
    assert (await groups.nth(0).text_content() or "").startswith("Expired unanswered: 2 alarms")
    critical, warning = in_list(page, c), in_list(page, a)
    band = "(node) => parseFloat(getComputedStyle(node).borderLeftWidth)"
    assert await critical.evaluate(band) >= 8 > await warning.evaluate(band)
    tag = critical.locator(".level-tag")
    assert (await tag.text_content() or "").strip() == "Critical"
    assert await tag.locator("svg.level-icon").count() == 1
    colour = "(node) => getComputedStyle(node).backgroundColor"
    assert await tag.evaluate(colour) != await warning.locator(".level-tag").evaluate(colour)
    assert await page.get_by_test_id("alarm-count").text_content() == "5"
    await assert_accessible(page, "alarm list")

    await critical.get_by_test_id("alarm-pick").check()
    await in_list(page, d).get_by_test_id("alarm-pick").check()
    button = page.get_by_test_id("alarm-ack-selected")
    assert await button.text_content() == "Acknowledge 2 selected alarms"
    await page.get_by_test_id("alarm-batch-note").fill("Rang the duty manager")
    await button.click()
    await critical.wait_for(state="detached")
    await in_list(page, d).wait_for(state="detached")
    assert await page.evaluate(ORDER_IDS) == [b, e, a]
    assert await page.evaluate(FOCUS_IN_LIST) == b  # where the first acknowledged one stood
    assert await page.evaluate("document.activeElement.dataset.testid") == "alarm-pick"
    history = page.get_by_test_id("alarm-history")
    assert await history.get_attribute("open") is None
    await history.locator("summary").click()
    past = page.get_by_test_id("alarm-history-list").locator("li")
    assert await past.count() == 2
    assert "Rang the duty manager" in (await past.nth(0).text_content() or "")
    rows = (await store.alarms.get(c), await store.alarms.get(d))
    assert all(row and row["note"] == "Rang the duty manager" for row in rows)

    await in_list(page, a).get_by_test_id("alarm-ack").click()
    await in_list(page, a).wait_for(state="detached")
    assert await page.evaluate(FOCUS_IN_LIST) == e  # the one before it: a was the last
    await page.emulate_media(color_scheme="dark")
    await assert_accessible(page, "alarm list and history, dark theme")
    await page.set_viewport_size({"width": 320, "height": 740})
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)


async def test_a_new_critical_alarm_is_announced_and_sounds_again_each_minute(
    server: TestServer, open_page: PageFactory
) -> None:
    """A critical alarm raised while the page is open is said in the assertive live region
    (the list itself is no live region); while unacknowledged its tone sounds again each
    minute, and no more once acknowledged."""
    page = await open_page(server, "supervisor")
    await page.clock.install()
    await page.reload()
    await page.get_by_test_id("sup-connection").filter(has_text="Live").wait_for()
    assert await page.get_by_test_id("alarm-list").get_attribute("aria-live") is None
    urgent = page.get_by_test_id("sup-announce-urgent")
    assert await urgent.get_attribute("role") == "alert" and await urgent.get_attribute(
        "aria-label"
    )
    alarm_id = await raise_alarm(server.app[STORE], "expired", "critical", 0)
    await in_list(page, alarm_id).wait_for()
    await urgent.filter(has_text="Critical alarm").wait_for()
    resounded = "() => Number(document.body.dataset.alarmResounded || 0)"
    await page.clock.fast_forward(61_000)
    await page.wait_for_function(f"() => ({resounded})() === 1")
    await in_list(page, alarm_id).get_by_test_id("alarm-ack").click()
    await in_list(page, alarm_id).wait_for(state="detached")
    await page.clock.fast_forward(61_000)
    assert await page.evaluate(resounded) == 1
