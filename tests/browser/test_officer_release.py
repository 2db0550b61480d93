"""The officer leaves only when released, in Chromium: the clinician's outcome form asks "Can
the officer leave now?" with no default, and the officer's page says "You can leave now" only
after a yes; otherwise it says to stay with the person and what happens next."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from .conftest import PageFactory, accepted_session

PLACE = "Royal Edinburgh Hospital"
ADDRESS = "Morningside Terrace, Edinburgh"


async def fill_s297(clinician: Page) -> None:
    """Fill an s297 removal to a place of safety (code B, police transport), not yet filed."""
    await clinician.get_by_test_id("outcome-triage-code").select_option("B")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "place_of_safety_s297"
    )
    await clinician.get_by_test_id("pos-fields").wait_for()
    await clinician.get_by_test_id("pos-name").fill(PLACE)
    await clinician.get_by_test_id("pos-address").fill(ADDRESS)
    form = clinician.get_by_test_id("outcome-form")
    await form.locator('[name="pos_circumstances"]').fill("On the bridge parapet, a public place.")
    await form.locator('[name="pos_person_name"]').fill("Jane Doe")
    await form.locator('[name="pos_person_address"]').fill("1 High St, Edinburgh")
    await clinician.get_by_test_id("risk-to_self").select_option("high")
    await clinician.get_by_test_id("risk-to_others").select_option("low")
    await clinician.get_by_test_id("outcome-conveyance").select_option("police")
    await clinician.get_by_test_id("outcome-advice-input").fill("Take her to the hospital now.")


async def test_s297_without_release_tells_the_officer_to_stay(
    server: TestServer, open_page: PageFactory
) -> None:
    """After an s297 removal with police transport and "No, they stay", the officer's page says
    to stay with the person and take them to the named place of safety, with
    `data-released="false"`, and never "You can leave now"."""
    officer, clinician = await accepted_session(server, open_page)
    await fill_s297(clinician)
    await clinician.get_by_test_id("officer-can-leave-no").check()
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()  # once the server checked it
    review = clinician.get_by_test_id("outcome-review-summary")
    assert "The officer is told to stay with the person." in (await review.text_content() or "")
    await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_test_id("filed-title").wait_for()
    await officer.get_by_test_id("officer-outcome").wait_for()
    release = officer.get_by_test_id("officer-release")
    assert await release.get_attribute("data-released") == "false"
    text = await release.text_content() or ""
    assert text.startswith("Stay with the person and take them to the place of safety"), text
    assert PLACE in text and ADDRESS in text
    page = await officer.locator("#officer-outcome").text_content() or ""
    assert "leave now" not in page.lower()


async def test_the_s298_notice_is_reachable_from_the_clinicians_and_supervisors_pages(
    server: TestServer, open_page: PageFactory
) -> None:
    """After an s297 removal the filing clinician's console and the supervisor's page each
    list its s298 notice as "Not sent" with a link that opens the printable notice."""
    _, clinician = await accepted_session(server, open_page)
    await fill_s297(clinician)
    await clinician.get_by_test_id("officer-can-leave-no").check()
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_test_id("filed-title").wait_for()
    await clinician.goto("/console")
    mine = clinician.get_by_test_id("referral-item").filter(has_text="s298 notice")
    await mine.get_by_test_id("referral-status").filter(has_text="Not sent").wait_for()
    supervisor = await open_page(server, "supervisor")
    listed = supervisor.get_by_test_id("s298-notice-item")
    await listed.get_by_test_id("s298-notice-status").filter(has_text="Not sent").wait_for()
    for page, link in ((clinician, mine), (supervisor, listed)):
        href = await link.get_by_test_id("s298-notice-link").get_attribute("href")
        assert href is not None
        notice = await page.request.get(href)
        assert notice.status == 200 and PLACE in await notice.text()


async def test_outcome_form_asks_whether_the_officer_can_leave(
    server: TestServer, open_page: PageFactory
) -> None:
    """Neither answer is chosen at first and the form will not go to review without one (the
    question is marked); after "Yes" the review says so, and once filed the officer reads
    "You can leave now" with the filing time (`data-released="true"`). The team nobody
    staffs is named to the clinician at once."""
    officer, clinician = await accepted_session(server, open_page)
    yes, no = (clinician.get_by_test_id(f"officer-can-leave-{a}") for a in ("yes", "no"))
    assert not await yes.is_checked() and not await no.is_checked()
    await clinician.get_by_test_id("outcome-triage-code").select_option("E")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "non_urgent_referral"
    )
    await clinician.get_by_test_id("referral-service").select_option("gp")
    await clinician.get_by_test_id("risk-to_self").select_option("low")
    await clinician.get_by_test_id("risk-to_others").select_option("none")
    await clinician.get_by_test_id("outcome-submit").click()
    problem = clinician.locator('[data-error-for="officer_can_leave"]')
    await problem.wait_for()
    assert "whether the officer can leave" in (await problem.text_content() or "")
    assert await clinician.get_by_test_id("outcome-review").is_hidden()
    await yes.check()
    await problem.wait_for(state="hidden")
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()  # once the server checked it
    review = clinician.get_by_test_id("outcome-review-summary")
    assert "The officer is told they can leave now." in (await review.text_content() or "")
    await clinician.get_by_test_id("outcome-confirm").click()
    warning = clinician.get_by_test_id("outcome-warnings")
    await warning.wait_for()
    assert "gp of Default board" in (await warning.text_content() or "")
    await officer.get_by_test_id("officer-outcome").wait_for()
    release = officer.get_by_test_id("officer-release")
    assert await release.get_attribute("data-released") == "true"
    text = await release.text_content() or ""
    assert text.startswith("You can leave now: the clinician released you at"), text
