"""Previous contacts in Chromium: the officer gives a CHI number and date of birth on the
form; the clinician of the person's second request sees the first in the session page's
history, and rejects a possible (name and date of birth) match."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from conftest import OUTCOME_FORM, SignInFactory, new_request
from triage_tools.pages import fill_request_form, send_request

from .conftest import PageFactory, assert_accessible, go_available

PERSON_KEY = "person-key-for-browser-tests-0123456789"
CHI = "0101901232"


async def seen_before(sign_in: SignInFactory, **identifiers: str) -> str:
    """An earlier request about the person, assessed and filed; its id."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    subject = {"age_band": "26_40", "sex": "female", **identifiers}
    created = await new_request(officer, subject=subject, mode="text")
    await clinician.post(f"/api/v1/requests/{created['id']}/accept")
    outcome = {**OUTCOME_FORM, "summary": "Seen on the bridge; safety plan agreed with sister."}
    status, body = await clinician.post(f"/api/v1/requests/{created['id']}/outcome", outcome)
    assert status == 201, body
    return str(created["id"])


async def ask_and_accept(server: TestServer, open_page: PageFactory, **identifiers: str) -> Page:
    """In Chromium the officer fills the form with the identifiers and sends it; the
    clinician accepts it and opens the history panel; the clinician's page."""
    clinician = await open_page(server, "clinician")
    officer = await open_page(server, "officer")
    await go_available(clinician)
    await fill_request_form(officer, mode="text")
    for testid, value in identifiers.items():
        await officer.get_by_test_id(testid).fill(value)
    await send_request(officer)
    await clinician.get_by_test_id("queue-item").wait_for()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    await clinician.get_by_test_id("tab-history").click()
    await clinician.get_by_test_id("history-show").click()
    return clinician


@pytest.mark.settings(person_key=PERSON_KEY)
async def test_the_clinician_of_a_second_request_sees_the_first(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """A person seen before (same CHI number, typed with a space on the phone) is shown as
    such to the clinician of their second request: the request details show the CHI number
    and date of birth, the history the earlier contact with its code, disposition, referral
    and summary, matched by CHI."""
    first = await seen_before(sign_in, chi=CHI)
    clinician = await ask_and_accept(
        server, open_page, **{"chi": "010190 1232", "date-of-birth": "1990-01-01"}
    )
    details = clinician.get_by_test_id("request-details")
    await expect(details).to_contain_text(CHI)
    await expect(details).to_contain_text("1990-01-01")
    history = clinician.get_by_test_id("history")
    await expect(clinician.get_by_test_id("history-summary")).to_have_text(
        "Seen 1 time before in the last 24 months."
    )
    contact = history.get_by_test_id("history-contact")
    await expect(contact).to_have_count(1)
    await expect(contact).to_have_attribute("data-match", "chi")
    await expect(contact).to_have_attribute("data-request-id", first)
    await expect(contact).to_contain_text("Same CHI number")
    await expect(contact).to_contain_text("Triage code C · Urgent face to face")
    await expect(contact).to_contain_text("Referral: Crisis team (Pending)")
    await expect(contact).to_contain_text("safety plan agreed with sister")


@pytest.mark.settings(person_key=PERSON_KEY)
async def test_a_possible_match_is_shown_as_possible_and_can_be_rejected(
    server: TestServer, open_page: PageFactory, sign_in: SignInFactory
) -> None:
    """Known by name and date of birth only, the earlier contact is a possible match the
    clinician is asked about (the panel passes axe-core); "Not this person" unlinks it and
    the history says there is none."""
    await seen_before(sign_in, known_name="Jane Doe", date_of_birth="1990-01-01")
    clinician = await ask_and_accept(
        server, open_page, **{"known-name": "JANE  DOE", "date-of-birth": "1990-01-01"}
    )
    contact = clinician.get_by_test_id("history-contact")
    await expect(contact).to_have_attribute("data-match", "possible")
    await expect(contact).to_contain_text("Possible match: same name and date of birth")
    await expect(clinician.get_by_test_id("history-summary")).to_contain_text("1 possible match")
    await assert_accessible(clinician, "the history with a possible match")
    await contact.get_by_test_id("history-reject").click()
    await expect(clinician.get_by_test_id("history-summary")).to_have_text(
        "No earlier contacts in the last 24 months."
    )
    await expect(clinician.get_by_test_id("history-contact")).to_have_count(0)
