"""The outcome form in Chromium: the server's rules shown before filing, and a review step that
refuses what filing would, each problem on its own field."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from .conftest import PageFactory, accepted_session, go_available

REASON = "Person declines referral; family present and safety plan agreed."


async def test_unusual_disposition_needs_reason_review_and_files(
    server: TestServer, open_page: PageFactory
) -> None:
    """Code G marks urgent face-to-face as not usual and choosing it reveals the reason field;
    the review step says in words what will be filed; Back returns to the form; Confirm
    files the outcome with its reason and the officer sees it."""
    officer, clinician = await accepted_session(server, open_page)
    form = clinician.get_by_test_id("outcome-form")
    await clinician.get_by_test_id("outcome-triage-code").select_option("G")
    unusual = form.locator('option[value="urgent_face_to_face"]')
    # The page marks the options once it has the rules, which it may still be fetching.
    await expect(unusual).to_have_attribute("data-fits", "no")
    assert "not usual for G" in (await unusual.text_content() or "")
    assert await form.locator('option[value="advice_only"]').get_attribute("data-fits") == "yes"
    assert await clinician.get_by_test_id("override-fields").is_hidden()
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "urgent_face_to_face"
    )
    await clinician.get_by_test_id("override-fields").wait_for()
    assert "not usual for code G" in (
        await clinician.get_by_test_id("override-why").text_content() or ""
    )
    await clinician.get_by_test_id("referral-service").select_option("crisis_team")
    await clinician.get_by_test_id("override-reason").fill(REASON)
    await clinician.get_by_test_id("risk-to_self").select_option("low")
    await clinician.get_by_test_id("risk-to_others").select_option("none")
    await clinician.get_by_test_id("outcome-advice-input").fill("The crisis team will call.")
    await clinician.get_by_test_id("officer-can-leave-yes").check()
    await clinician.get_by_test_id("outcome-submit").click()

    review = clinician.get_by_test_id("outcome-review-summary")
    await review.wait_for()
    text = await review.text_content() or ""
    assert re.search(
        r"^You are about to file: G, urgent face-to-face assessment, crisis team \(urgency E\) "
        r"due \d\d:\d\d (today|tomorrow|on .+)",
        text,
    ), text
    assert REASON in text
    await clinician.get_by_test_id("outcome-back").click()
    await clinician.get_by_test_id("outcome-review").wait_for(state="hidden")
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-confirm").click()
    await clinician.get_by_text("Outcome filed").wait_for()
    await officer.get_by_test_id("officer-outcome").wait_for()
    assert await officer.get_by_test_id("outcome-code").text_content() == "G"


async def test_referral_urgency_follows_code_and_review_names_due(
    server: TestServer, open_page: PageFactory
) -> None:
    """A code C referral defaults to urgency C (no reason asked); a slower urgency asks for one;
    the review names the crisis team and its due time."""
    _, clinician = await accepted_session(server, open_page)
    await clinician.get_by_test_id("outcome-triage-code").select_option("C")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "urgent_face_to_face"
    )
    assert await clinician.get_by_test_id("referral-urgency").input_value() == "C"
    assert await clinician.get_by_test_id("override-fields").is_hidden()
    await clinician.get_by_test_id("referral-urgency").select_option("E")
    await clinician.get_by_test_id("override-fields").wait_for()
    assert "less urgent than code C" in (
        await clinician.get_by_test_id("override-why").text_content() or ""
    )
    await clinician.get_by_test_id("referral-urgency").select_option("C")
    await clinician.get_by_test_id("override-fields").wait_for(state="hidden")
    await clinician.get_by_test_id("risk-to_self").select_option("high")
    await clinician.get_by_test_id("risk-to_others").select_option("none")
    await clinician.get_by_test_id("officer-can-leave-yes").check()
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()
    text = await clinician.get_by_test_id("outcome-review-summary").text_content() or ""
    assert text.startswith(
        "You are about to file: C, urgent face-to-face assessment, crisis team (urgency C) due "
    ), text
    assert "tomorrow" in text  # 24 h from now


async def test_dbi_blocked_for_under_16(server: TestServer, open_page: PageFactory) -> None:
    """For a person recorded as under 16 the DBI choices are disabled, with a plain reason."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await go_available(clinician)
    await officer.get_by_test_id("age-band").wait_for()
    await fill_young_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    blocked = clinician.get_by_test_id("dbi-blocked")
    await blocked.wait_for()
    assert "16 and over" in (await blocked.text_content() or "")
    form = clinician.get_by_test_id("outcome-form")
    assert await form.locator('option[value="dbi_referral"]').is_disabled()
    assert await form.locator('option[value="dbi"]').is_disabled()


async def fill_young_request(page: Page) -> None:
    """The officer's typical request, for a person under 16, sent in text mode."""
    await page.get_by_test_id("incident-ref").fill("PS-YOUNG-1")
    await page.get_by_test_id("location-description").fill("Park gates")
    await page.get_by_test_id("age-band").select_option("under_16")
    await page.get_by_test_id("mode-choice-text").check()
    await page.get_by_test_id("consent").check()
    await page.get_by_test_id("request-submit").click()
    await page.get_by_test_id("waiting").wait_for()


FILE_AS_IS = """async ([path, body]) => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const answer = await fetch(path, { method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify(body) });
  return [answer.status, await answer.json()];
}"""
SHOWN = """(form) => Object.fromEntries([...form.querySelectorAll('[data-error-for]')]
  .filter((slot) => !slot.hidden && slot.offsetParent !== null)
  .map((slot) => [slot.dataset.errorFor, slot.textContent]))"""


async def review_refused(clinician: Page) -> dict[str, str]:
    """Press Review: the review step is refused; the errors shown on the form's fields, after
    checking that filing the same body is refused on exactly the fields the check named."""
    async with clinician.expect_response("**/outcome/check") as checked:
        await clinician.get_by_test_id("outcome-submit").click()
    answer = await checked.value
    body = answer.request.post_data_json
    assert isinstance(body, dict)
    assert answer.status == 422, await answer.text()
    refusal = (await answer.json())["error"]
    path = answer.url.removesuffix("/check")
    status, filed = await clinician.evaluate(FILE_AS_IS, [path, body])
    assert status == 422 and filed["error"]["fields"] == refusal["fields"], (filed, refusal)
    await clinician.get_by_test_id("outcome-error").wait_for()
    assert await clinician.get_by_test_id("outcome-review").is_hidden()
    shown: dict[str, str] = await clinician.get_by_test_id("outcome-form").evaluate(SHOWN)
    assert set(refusal["fields"]) <= set(shown), (refusal, shown)
    return shown


async def fill_risks_and_release(clinician: Page) -> None:
    """The parts of the outcome every test here fills the same way."""
    await clinician.get_by_test_id("risk-to_self").select_option("high")
    await clinician.get_by_test_id("risk-to_others").select_option("none")
    await clinician.get_by_test_id("officer-can-leave-no").check()


async def test_review_refuses_a_departure_without_a_reason_on_its_fields(
    server: TestServer, open_page: PageFactory
) -> None:
    """Code C with a referral of urgency E and no reason: the review step is refused as filing
    would be, the departure marked under Urgency and the missing reason under the reason's
    own field; with a reason the review opens."""
    _, clinician = await accepted_session(server, open_page)
    await clinician.get_by_test_id("outcome-triage-code").select_option("C")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "urgent_face_to_face"
    )
    await clinician.get_by_test_id("referral-urgency").select_option("E")
    await fill_risks_and_release(clinician)
    shown = await review_refused(clinician)
    assert set(shown) == {"referral.urgency", "override_reason"}, shown
    assert "less urgent" in shown["referral.urgency"]
    assert "reason" in shown["override_reason"]
    reason = clinician.get_by_test_id("override-reason")
    assert await reason.get_attribute("aria-invalid") == "true"
    await reason.fill(REASON)
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()


async def test_review_refuses_an_s297_without_its_place_of_safety_field_by_field(
    server: TestServer, open_page: PageFactory
) -> None:
    """A place of safety (s297) with nothing about it: the review marks the place's name and
    address; filled, it marks what s298 needs (the person's name and address, the
    circumstances), each on its field, as filing would; complete, the review opens."""
    _, clinician = await accepted_session(server, open_page)
    await clinician.get_by_test_id("outcome-triage-code").select_option("B")
    await clinician.get_by_test_id("outcome-disposition-select").select_option(
        "place_of_safety_s297"
    )
    await fill_risks_and_release(clinician)
    first = await review_refused(clinician)
    assert set(first) == {"place_of_safety.name", "place_of_safety.address"}, first
    await clinician.get_by_test_id("pos-name").fill("Royal Infirmary A&E")
    await clinician.get_by_test_id("pos-address").fill("84 Castle St, Glasgow")
    second = await review_refused(clinician)
    assert set(second) == {
        "place_of_safety.person_name",
        "place_of_safety.person_address",
        "place_of_safety.circumstances",
    }, second
    pos = clinician.get_by_test_id("pos-fields")
    await pos.locator("[name=pos_person_name]").fill("Jane Doe")
    await pos.locator("[name=pos_person_address]").fill("1 High St, Glasgow")
    await pos.locator("[name=pos_circumstances]").fill("On the platform edge, distressed.")
    await clinician.get_by_test_id("outcome-submit").click()
    await clinician.get_by_test_id("outcome-review").wait_for()
