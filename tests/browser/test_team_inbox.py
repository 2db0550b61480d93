"""The receiving team's inbox: a new referral arrives live, due soonest first, and accepting
then completing takes one click each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from conftest import OUTCOME_FORM, SignInFactory, in_session

from .conftest import PageFactory


async def test_inbox_receives_a_referral_live_and_completes_it(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """With the inbox open, a referral filed for the team appears without a reload, with its
    handover; Accept then Complete move it on and off the open list; another team's referral
    never shows."""
    page = await open_page(server, "receiver", team="crisis_team:default")
    await page.get_by_test_id("live-state").filter(has_text="Live.").wait_for()
    await page.get_by_test_id("inbox-empty").wait_for()
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    other = await in_session(officer, clinician)
    cmht = {**OUTCOME_FORM, "referral": {"service": "cmht", "urgency": "C"}}
    assert (await clinician.post(f"/api/v1/requests/{other['id']}/outcome", cmht))[0] == 201
    request = await in_session(officer, clinician)
    status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM)
    assert status == 201, done

    item = page.get_by_test_id("inbox-item")
    await item.wait_for()
    assert await item.count() == 1
    text = await item.text_content() or ""
    assert OUTCOME_FORM["summary"] in text and "Urgency C" in text
    assert await page.get_by_test_id("inbox-count").text_content() == "1"
    await page.get_by_test_id("referral-accepted").click()
    await page.get_by_test_id("inbox-status").filter(has_text="Accepted").wait_for()
    await page.get_by_test_id("referral-completed").click()
    await page.get_by_test_id("inbox-empty").wait_for()
    await page.get_by_test_id("inbox-scope").select_option("all")
    await page.get_by_test_id("inbox-status").filter(has_text="Completed").wait_for()
    _, mine = await clinician.get("/api/v1/referrals?status=all&mine=true")
    made = next(r for r in mine["referrals"] if r["id"] == done["referral"]["id"])
    assert made["accepted_at"] and made["completed_at"]


async def test_inbox_is_due_soonest_first_and_a_decline_needs_a_reason(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """Two referrals, the later-filed one due sooner: it comes first; declining asks for a
    reason before it is sent, then leaves one open referral."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    made = []
    for due in (None, soon):
        request = await in_session(officer, clinician)
        referral = {**OUTCOME_FORM["referral"], **({"due_at": due} if due else {})}
        body = {**OUTCOME_FORM, "referral": referral}
        status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", body)
        assert status == 201, done
        made.append(done["referral"]["id"])
    page = await open_page(server, "receiver", team="crisis_team:default")
    items = page.get_by_test_id("inbox-item")
    await items.nth(1).wait_for()
    order = [await items.nth(i).get_attribute("data-referral-id") for i in range(2)]
    assert order == [made[1], made[0]]
    await items.nth(0).get_by_test_id("referral-declined").click()
    await page.get_by_test_id("inbox-message").filter(has_text="Say why").wait_for()
    await items.nth(0).locator("input[name=note]").fill("Out of our area: CMHT instead")
    await items.nth(0).get_by_test_id("referral-declined").click()
    await page.get_by_test_id("inbox-count").filter(has_text="1").wait_for()


async def test_a_new_referral_rings_and_reads_plainly(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory, full_browser: Browser
) -> None:
    """With the inbox open (notifications allowed), each new referral sounds (the tone hook),
    shows a notification, counts in the tab's title and is marked New until the page is
    touched; urgency B is marked apart from C (colour and a marker); its due time reads
    "in 4 h"; the team is named, not `crisis_team:default`."""
    page = await open_page(
        server,
        "receiver",
        team="crisis_team:default",
        permissions=("notifications",),
        on=full_browser,
    )
    assert await page.get_by_test_id("team-name").text_content() == "Crisis team, Default board"
    await page.get_by_test_id("live-state").filter(has_text="Live.").wait_for()
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    for urgency in ("C", "B"):
        request = await in_session(officer, clinician)
        body = {**OUTCOME_FORM, "referral": {"service": "crisis_team", "urgency": urgency}}
        status, done = await clinician.post(f"/api/v1/requests/{request['id']}/outcome", body)
        assert status == 201, done
    await page.wait_for_function("() => document.body.dataset.rang === '2'")
    assert await page.evaluate("document.body.dataset.notified") == "2"
    assert (await page.title()).startswith("(2) New referral")
    first = page.get_by_test_id("inbox-item").first
    assert await first.get_attribute("data-referral-id") == done["referral"]["id"]
    due = await first.get_by_test_id("inbox-due").text_content() or ""
    assert due.endswith("(in 4 h)"), due
    badges = page.get_by_test_id("inbox-urgency")
    assert (await badges.nth(0).text_content() or "").strip() == "▲ Urgency B"
    assert (await badges.nth(1).text_content() or "").strip() == "Urgency C"
    colour = "(node) => getComputedStyle(node).backgroundColor"
    assert await badges.nth(0).evaluate(colour) != await badges.nth(1).evaluate(colour)
    arrivals = page.get_by_test_id("inbox-arrivals")
    assert await arrivals.get_attribute("role") == "status"
    assert "urgency B" in (await arrivals.text_content() or "")
    assert await page.get_by_test_id("inbox-new").count() == 2
    await page.keyboard.press("Shift")
    await page.wait_for_function("() => !document.title.startsWith('(')")
    assert await page.get_by_test_id("inbox-new").count() == 0


async def test_a_reason_half_written_survives_a_new_referral(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """A receiver typing a reason to decline keeps the text and the focus when another
    referral arrives live and the list is redrawn."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    request = await in_session(officer, clinician)
    assert (await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM))[
        0
    ] == 201
    page = await open_page(server, "receiver", team="crisis_team:default")
    await page.get_by_test_id("live-state").filter(has_text="Live.").wait_for()
    note = page.get_by_test_id("inbox-item").first.locator("input[name=note]")
    await note.fill("Out of our area")
    request = await in_session(officer, clinician)
    assert (await clinician.post(f"/api/v1/requests/{request['id']}/outcome", OUTCOME_FORM))[
        0
    ] == 201
    await page.get_by_test_id("inbox-item").nth(1).wait_for()
    assert await page.evaluate("document.activeElement.name") == "note"
    assert await page.evaluate("document.activeElement.value") == "Out of our area"
