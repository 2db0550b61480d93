"""The officer's phone page: light, fits 360 px, clear errors, C-SSRS skip logic, retries."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Route

from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_tools.pages import fill_request_form, send_request

from .conftest import NO_SIDEWAYS_SCROLL, PageFactory, fill_request, go_available, my_requests

BUDGET_BYTES = 150 * 1024
# The page and every static file it loaded, fetched again uncached (the body as decoded).
PAGE_WEIGHT = """async () => {
  const urls = [location.href, ...performance.getEntriesByType('resource')
    .map((entry) => entry.name).filter((url) => new URL(url).pathname.startsWith('/static/'))];
  const sizes = {};
  for (const url of new Set(urls)) {
    const response = await fetch(url, { cache: 'no-store' });
    sizes[url] = (await response.arrayBuffer()).byteLength;
  }
  return sizes;
}"""


async def test_officer_page_fits_a_phone_and_is_light(
    server: TestServer, open_page: PageFactory
) -> None:
    """At 360 px wide neither the form, its errors nor the waiting screen scroll sideways, and
    the page with every script and stylesheet it loads is under 150 KB uncompressed."""
    officer = await open_page(server, "officer")
    await officer.get_by_test_id("request-form").wait_for()
    await officer.wait_for_load_state("networkidle")
    sizes: dict[str, int] = await officer.evaluate(PAGE_WEIGHT)
    assert any(url.endswith("/officer.js") for url in sizes)
    assert any(url.endswith(".css") for url in sizes)
    assert sum(sizes.values()) < BUDGET_BYTES, sizes
    assert await officer.evaluate(NO_SIDEWAYS_SCROLL)

    await officer.get_by_test_id("request-submit").click()
    await officer.get_by_text("Required.").first.wait_for()
    assert await officer.evaluate(NO_SIDEWAYS_SCROLL)
    await fill_request(officer)
    assert await officer.evaluate(NO_SIDEWAYS_SCROLL)


async def test_field_errors_appear_next_to_their_fields(
    server: TestServer, open_page: PageFactory
) -> None:
    """An empty form gets the 422's problems beside the incident reference, the location and
    the consent box, with the inputs marked invalid."""
    officer = await open_page(server, "officer")
    await officer.get_by_test_id("request-submit").click()
    for path in ("incident_ref", "location.description", "consent"):
        slot = officer.locator(f'[data-error-for="{path}"]')
        await slot.wait_for()
        assert (await slot.text_content() or "").strip()
    assert await officer.get_by_test_id("incident-ref").get_attribute("aria-invalid") == "true"
    assert await my_requests(officer) == []


async def test_cssrs_skip_logic_and_location(server: TestServer, open_page: PageFactory) -> None:
    """No to question 2 skips 3-5; yes to 6 asks about the past 3 months, and a yes there warns
    of imminent risk; the request goes in at priority 1 with the skipped answers null and the
    phone's location attached."""
    officer = await open_page(
        server,
        "officer",
        permissions=("geolocation",),
        geolocation={"latitude": 55.8609, "longitude": -4.2514},
    )
    q3 = officer.get_by_test_id("cssrs-q3-item")
    assert await q3.is_hidden()
    await officer.get_by_test_id("cssrs-q2-yes").check()
    await q3.wait_for()
    await officer.get_by_test_id("cssrs-q3-yes").check()
    await officer.get_by_test_id("cssrs-q2-no").check()
    await q3.wait_for(state="hidden")
    assert await officer.get_by_test_id("cssrs-q6-recent-item").is_hidden()
    await officer.get_by_test_id("cssrs-q6-yes").check()
    await officer.get_by_test_id("cssrs-q6-recent-yes").check()
    await officer.get_by_test_id("cssrs-imminent").wait_for()

    await officer.get_by_test_id("use-location").click()
    await officer.get_by_test_id("geo-status").filter(has_text="Location added").wait_for()
    await officer.get_by_test_id("incident-ref").fill("PS-1")
    await officer.get_by_test_id("location-description").fill("Riverside walkway")
    await officer.get_by_test_id("urgency-routine").check()
    await officer.get_by_test_id("consent").check()
    await officer.get_by_test_id("request-submit").click()
    await officer.get_by_test_id("waiting").wait_for()
    [request] = await my_requests(officer)
    cssrs = request["screening"]["cssrs"]
    assert (cssrs["q2"], cssrs["q3"], cssrs["q6_lifetime"], cssrs["q6_recent"]) == (
        False,
        None,
        True,
        True,
    )
    assert request["priority"] == 1
    assert (request["location"]["lat"], request["location"]["lon"]) == (55.8609, -4.2514)


async def test_lost_answer_is_retried_without_a_duplicate(
    server: TestServer, open_page: PageFactory
) -> None:
    """When the answer to the first POST is lost the page retries with the same
    Idempotency-Key, and exactly one request exists."""
    officer = await open_page(server, "officer")
    keys: list[str | None] = []

    async def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            await route.fetch()  # the server creates the request...
            await route.abort("connectionreset")  # ...but the phone never hears back
        else:
            await route.continue_()

    await officer.route("**/api/v1/requests", lose_first_answer)
    await fill_request(officer)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert len(await my_requests(officer)) == 1


async def test_reload_resumes_waiting_then_cancel(
    server: TestServer, open_page: PageFactory
) -> None:
    """A reloaded page comes back to the waiting screen of the open request; cancelling asks
    once more and then withdraws it."""
    officer = await open_page(server, "officer")
    await fill_request(officer, incident_ref="PS-RELOAD")
    await officer.reload()
    await officer.get_by_test_id("waiting").wait_for()
    assert "PS-RELOAD" in (await officer.get_by_test_id("waiting").text_content() or "")
    await officer.get_by_test_id("queue-position").filter(has_text="next").wait_for()
    await officer.get_by_test_id("cancel-request").click()
    await officer.get_by_test_id("cancel-confirm").click()
    await officer.get_by_test_id("ended-title").filter(has_text="cancelled").wait_for()
    [request] = await my_requests(officer)
    assert request["status"] == "cancelled"


@pytest.fixture
async def impatient_server(settings: Settings) -> AsyncIterator[TestServer]:
    """An instance that shows the phone number after 1 s and expires requests after 3 s."""
    quick = dataclasses.replace(
        settings, service_level_s=1, max_wait_s=3, phone_fallback="0141 555 0100"
    )
    test_server = TestServer(create_app(quick))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def test_long_wait_and_expiry_show_the_phone_number(
    impatient_server: TestServer, open_page: PageFactory
) -> None:
    """After a long wait the waiting screen offers the phone line; once the request expires the
    page says so and shows the number to call."""
    officer = await open_page(impatient_server, "officer")
    await fill_request(officer)
    fallback = officer.get_by_test_id("fallback")
    await fallback.wait_for()
    assert "0141 555 0100" in (await fallback.text_content() or "")
    await officer.get_by_test_id("ended-title").filter(has_text="in time").wait_for(timeout=10000)
    phone = officer.get_by_test_id("ended-phone")
    assert await phone.is_visible()
    assert "0141 555 0100" in (await phone.text_content() or "")


async def test_queue_position_updates_live(server: TestServer, open_page: PageFactory) -> None:
    """An officer second in the queue sees "Number 2", then, when the request ahead is
    cancelled, "next" and a fresh estimate without reloading."""
    first = await open_page(server, "officer")
    second = await open_page(server, "officer")
    await go_available(await open_page(server, "clinician"))  # on duty: there is an estimate
    await fill_request(first, incident_ref="PS-FIRST")
    await fill_request(second, incident_ref="PS-SECOND")
    position = second.get_by_test_id("queue-position")
    await position.filter(has_text="Number 2").wait_for()
    assert "Estimated wait" in (await second.get_by_test_id("queue-estimate").text_content() or "")
    await first.get_by_test_id("cancel-request").click()
    await first.get_by_test_id("cancel-confirm").click()
    await position.filter(has_text="next").wait_for()


SMALL_TARGETS = """() => [...document.querySelectorAll(
    '.emergency a, select, .checks label, .stack label, .choice label, button, input[name]')]
  .filter((node) => node.offsetParent !== null && node.type !== 'radio' && node.type !== 'checkbox')
  .filter((node) => node.getBoundingClientRect().height < 44)
  .map((node) => node.outerHTML.slice(0, 80))"""


async def test_errors_are_linked_and_clear_when_corrected(
    server: TestServer, open_page: PageFactory
) -> None:
    """An empty send marks the fields with errors linked by aria-describedby; typing clears a
    field's error, "Use my location" fills the place, and every tap target is 44 px high."""
    page = await open_page(
        server,
        "officer",
        permissions=("camera", "microphone", "geolocation"),
        geolocation={"latitude": 55.86, "longitude": -4.25},
    )
    await page.get_by_test_id("request-form").wait_for()
    assert await page.evaluate(SMALL_TARGETS) == []
    await page.get_by_test_id("request-submit").click()
    ref = page.get_by_test_id("incident-ref")
    await page.locator("[data-error-for=incident_ref]").wait_for()
    described = await ref.get_attribute("aria-describedby")
    assert described and await page.locator(f"#{described}").text_content() == "Required."
    await ref.fill("PS-1")
    assert await ref.get_attribute("aria-invalid") is None
    assert await page.locator("[data-error-for=incident_ref]").is_hidden()
    place = page.get_by_test_id("location-description")
    assert await place.get_attribute("aria-invalid") == "true"
    await page.get_by_test_id("use-location").click()
    await page.get_by_test_id("geo-status").filter(has_text="Location added").wait_for()
    assert (await place.input_value()).startswith("GPS 55.86")
    assert await place.get_attribute("aria-invalid") is None


async def test_a_person_who_lacks_capacity_is_still_assessed(
    server: TestServer, open_page: PageFactory
) -> None:
    """Choosing "they cannot decide" asks why (the request is refused, the note marked, until
    it is given); then the request goes in with `lacks_capacity`, the note and the officer's
    call-back number, which the accepting clinician reads beside the call."""
    officer = await open_page(server, "officer")
    await fill_request_form(officer)
    note = officer.get_by_test_id("capacity-note")
    assert await note.is_hidden()
    await officer.get_by_test_id("consent-lacks-capacity").check()
    await note.wait_for()
    await officer.get_by_test_id("officer-phone").fill("07700 900123")
    await officer.get_by_test_id("request-submit").click()
    problem = officer.locator('[data-error-for="capacity_note"]')
    await problem.wait_for()
    assert await my_requests(officer) == []
    await note.fill("Heavily intoxicated, cannot follow the conversation")
    await send_request(officer)
    [request] = await my_requests(officer)
    assert request["consent"] == "lacks_capacity"
    assert request["capacity_note"] == "Heavily intoxicated, cannot follow the conversation"
    assert request["officer"]["phone"] == "07700 900123"
    clinician = await open_page(server, "clinician")
    await go_available(clinician)
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url("**/session/*")
    details = clinician.get_by_test_id("request-details")
    await details.filter(has_text="Lacks capacity").wait_for()
    text = await details.text_content() or ""
    assert "call-back 07700 900123" in text and "Heavily intoxicated" in text
