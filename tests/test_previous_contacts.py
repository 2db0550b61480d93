"""Previous contacts (DOMAIN.md): the CHI number and date of birth an officer may give, the
person key that alone links a person's requests, the earlier contacts the clinician in
session sees (audited), a possible match confirmed or rejected, and what the purge, the
supervisors and the exports keep."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from repeat_truth import repeat_counts, repeat_flags
from report_random import AREAS, AREAS_FILE, OFFICER, ZONES
from stats_truth import load_all

from conftest import (
    OUTCOME_FORM,
    REDIS_URL,
    REQUEST_FORM,
    ApiClient,
    FakeClock,
    SignInFactory,
    new_request,
    read_stream,
)
from support.forms import iso
from triage_client.forms import SHORT_OUTCOME_FORM, request_form
from triage_service.domain.codes import Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.person import (
    check_digit,
    normalise_chi,
    normalise_name,
    person_keys,
)
from triage_service.domain.users import User
from triage_service.service import contacts, lifecycle
from triage_service.service.migrations import rebuild_stats
from triage_service.service.retention import purge_due
from triage_service.settings import Settings, SettingsError
from triage_service.web.state import SETTINGS, STORE

PERSON_KEY = "person-key-for-tests-0123456789abcdef"
DAY = 86_400_000
START = int(datetime(2026, 1, 5, 9, tzinfo=UTC).timestamp() * 1000)
# Hand-checked: 0·10 + 1·9 + 0·8 + 1·7 + 9·6 + 0·5 + 1·4 + 2·3 + 3·2 = 86; 86 mod 11 = 9;
# 11 - 9 = 2.
CHI_A = "0101901232"
CHI_B = "2902004567"  # 29 February 2000; check digit 7
JANE = {"known_name": "Jane Doe", "date_of_birth": "1990-01-01"}


def chi_of(day: str, serial: int) -> str:
    """A valid CHI number for DDMMYY `day`: the first serial from `serial` up that has a
    check digit."""
    while (digit := check_digit(f"{day}{serial:03d}")) is None:
        serial += 1
    return f"{day}{serial:03d}{digit}"


@pytest.fixture
def clock() -> FakeClock:
    """A January morning, moved by the tests."""
    return FakeClock(START)


@pytest.fixture
def settings(key_prefix: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Linking on; two health boards in London and New York time (report_random.py);
    sign-ins that outlive years of the test's clock; no sweeps.
    `@pytest.mark.settings(person_key=None)` turns linking off."""
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = {"person_key": PERSON_KEY, **(marker.kwargs if marker else {})}
    areas = tmp_path / "areas.toml"
    areas.write_text(AREAS_FILE, encoding="utf-8")
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        areas_file=str(areas),
        sweep_interval_s=3600,
        session_idle_s=3000 * 86400,
        session_absolute_s=3000 * 86400,
        presence_lease_s=86400,
        max_wait_s=86400,
        **overrides,
    )


def subject(**identifiers: str) -> dict[str, str]:
    """A person's subject: age band and sex with the identifiers given."""
    return {"age_band": "26_40", "sex": "female", **identifiers}


async def ask(officer: ApiClient, clock: FakeClock, at_ms: int, **identifiers: str) -> str:
    """At `at_ms`, the officer asks about the person with these identifiers; the id."""
    clock.now_ms = at_ms
    created = await new_request(officer, subject=subject(**identifiers))
    assert "id" in created, created
    return str(created["id"])


async def assess(
    clinician: ApiClient, request_id: str, outcome: dict[str, Any] | None = None
) -> None:
    """The clinician accepts the request and files its outcome."""
    status, body = await clinician.post(f"/api/v1/requests/{request_id}/accept")
    assert status == 200, body
    status, body = await clinician.post(
        f"/api/v1/requests/{request_id}/outcome", outcome or OUTCOME_FORM
    )
    assert status == 201, body


async def history(clinician: ApiClient, request_id: str) -> dict[str, Any]:
    """The request's earlier contacts as its clinician reads them (for the assessment)."""
    status, body = await clinician.call(
        "GET", f"/api/v1/requests/{request_id}/history", headers={"X-Access-Reason": "assessment"}
    )
    assert status == 200, body
    return dict(body)


async def window_repeat(supervisor: ApiClient, start: int, end: int) -> dict[str, int] | None:
    """The repeat presentations of the requests created in [start, end)."""
    status, found = await supervisor.get(f"/api/v1/stats?from={iso(start)}&to={iso(end)}")
    assert status == 200, found
    assert found["repeat"] == found["window"]["repeat"]
    return found["window"]["repeat"]  # type: ignore[no-any-return]


# ---- the identifiers -------------------------------------------------------------------------


def test_chi_numbers_are_checked_by_their_date_and_check_digit() -> None:
    """A CHI number is ten digits (spaces or hyphens between groups allowed), the first six
    a real date DDMMYY (29 February only where 19YY or 20YY is a leap year), the tenth the
    modulus-11 check digit; a number whose check digit would be 10 is no CHI number."""
    assert normalise_chi(CHI_A) == CHI_A
    assert normalise_chi("010190 1232") == normalise_chi("010190-1232") == CHI_A
    assert normalise_chi(CHI_B) == CHI_B
    for wrong, problem in (
        ("0101901233", "check digit"),
        ("3102901234", "date of birth"),
        ("0113901234", "date of birth"),
        ("2902011234", "date of birth"),  # 2001 and 1901 were not leap years
        ("010190123", "10 digits"),
        ("01019012321", "10 digits"),
        ("01019O1232", "10 digits"),
        ("".join(chr(0xFF10 + int(d)) for d in CHI_A), "10 digits"),  # full-width digits
    ):
        with pytest.raises(ValueError, match=problem):
            normalise_chi(wrong)
    assert check_digit("120385000") is None  # 10 would be needed: no such CHI number
    for serial in range(1000):
        nine = f"120385{serial:03d}"
        if (digit := check_digit(nine)) is not None:
            assert normalise_chi(f"{nine}{digit}")
            with pytest.raises(ValueError, match="check digit"):
                normalise_chi(f"{nine}{(digit + 1) % 10}")


def test_names_are_compared_without_case_accents_spaces_or_punctuation() -> None:
    """Mary-Jane O'Brien, mary jane obrien and MARY JANE O'BRIEN (a typographic apostrophe)
    are one name; Zoe with a diaeresis is Zoe; Ann Smith is not Anna Smith."""
    curly = "MARY JANE O\u2019BRIEN"
    forms = ("Mary-Jane O'Brien", "mary jane obrien", curly, " Mary  Jane OBrien ")
    assert {normalise_name(n) for n in forms} == {"maryjaneobrien"}
    assert normalise_name("Zoë Ñúñez") == normalise_name("zoe nunez")
    assert normalise_name("Ann Smith") != normalise_name("Anna Smith")


def test_the_person_key_is_made_from_the_chi_else_from_name_and_birth_date() -> None:
    """With a CHI the person key is its HMAC (whatever the name), else the HMAC of name and
    date of birth (both needed); another secret gives other keys; no identifiers, no key."""
    secret, born = PERSON_KEY.encode(), date(1990, 1, 1)
    by_chi = person_keys(secret, chi=CHI_A, known_name="Jane", date_of_birth=born)
    by_chi_alone = person_keys(secret, chi=CHI_A, known_name=None, date_of_birth=None)
    by_name = person_keys(secret, chi=None, known_name="JANE", date_of_birth=born)
    assert by_chi and by_chi_alone and by_name
    assert by_chi.person_key == by_chi_alone.person_key == by_chi.chi_key
    assert by_chi.matched_by == "chi" and by_name.matched_by == "name_dob"
    assert by_name.person_key == by_chi.name_key != by_chi.person_key
    assert by_chi_alone.name_key == "" and by_name.chi_key == ""
    other = person_keys(
        b"another secret of thirty-two bytes!", chi=CHI_A, known_name=None, date_of_birth=None
    )
    assert other and other.person_key != by_chi.person_key
    assert CHI_A not in by_chi.person_key and len(by_chi.person_key) == 64
    for partial in (
        {"known_name": "Jane", "date_of_birth": None},
        {"known_name": None, "date_of_birth": born},
        {"known_name": "  ", "date_of_birth": born},
    ):
        assert person_keys(secret, chi=None, **partial) is None


def test_a_short_person_key_stops_start_up() -> None:
    """TRIAGE_PERSON_KEY of fewer than 32 bytes is refused at start-up, naming the setting;
    unset, linking is off."""
    with pytest.raises(SettingsError, match="person_key must be at least 32 bytes"):
        Settings(redis_url=REDIS_URL, person_key="short")
    with pytest.raises(SettingsError, match="person_key"):
        Settings.from_env({"TRIAGE_PERSON_KEY": "x" * 31, "TRIAGE_REDIS_URL": REDIS_URL})
    assert Settings(redis_url=REDIS_URL).linking is None
    assert Settings(redis_url=REDIS_URL, person_key="x" * 32).linking == b"x" * 32


async def test_identifiers_are_optional_and_a_bad_chi_is_refused(
    sign_in: SignInFactory,
) -> None:
    """The form is sent without any identifier, or with a CHI number and date of birth; a
    CHI number failing its checks is 422 `invalid_chi` naming `subject.chi`; a date of
    birth in the future, or not a date, is 422 naming `subject.date_of_birth`."""
    officer = await sign_in("officer")
    for identifiers in ({}, {"chi": "010190 1232", "date_of_birth": "1990-01-01"}, {"chi": ""}):
        created = await new_request(officer, subject=subject(**identifiers))
        assert created["status"] == "waiting", created
    assert created["subject"]["chi"] is None
    status, body = await officer.post(
        "/api/v1/requests",
        {**_form(), "subject": subject(chi="0101901233")},
    )
    assert status == 422 and body["error"]["code"] == "invalid_chi", body
    assert "check digit" in body["error"]["fields"]["subject.chi"]
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    for born in (tomorrow, "01/01/1990", 19900101, "631152000", "1990-01-01T00:00", "1990-02-30"):
        status, body = await officer.post(
            "/api/v1/requests", {**_form(), "subject": {"date_of_birth": born}}
        )
        assert status == 422 and "subject.date_of_birth" in body["error"]["fields"], (born, body)


def _form() -> dict[str, Any]:
    return dict(REQUEST_FORM)


# ---- the history the clinician in session sees ---------------------------------------------


async def test_the_clinician_in_session_sees_the_persons_earlier_contacts_by_chi(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A person seen twice before (by CHI) is shown as such to the clinician of the third
    request: both contacts, newest first, with date, area, code, disposition, referral and
    its status and the clinical summary, matched by CHI; the first request saw nothing."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    first_clinician, second, third = [await sign_in("clinician") for _ in range(3)]
    first = await ask(officer, clock, START, chi=CHI_A)
    await first_clinician.post(f"/api/v1/requests/{first}/accept")
    assert await history(first_clinician, first) == {"matched_by": "chi", "contacts": []}
    await first_clinician.post(f"/api/v1/requests/{first}/outcome", OUTCOME_FORM)
    later = await ask(officer, clock, START + 200 * DAY, chi="010190-1232", **JANE)
    await assess(second, later, {**OUTCOME_FORM, "summary": "Seen again, calmer."})
    now = await ask(officer, clock, START + 220 * DAY, chi=CHI_A)
    await third.post(f"/api/v1/requests/{now}/accept")
    found = await history(third, now)
    assert found["matched_by"] == "chi"
    assert [c["request_id"] for c in found["contacts"]] == [later, first]
    newest = found["contacts"][0]
    assert newest == {
        "request_id": later,
        "created_at": iso(START + 200 * DAY),
        "status": "completed",
        "area": "Glasgow City Centre",  # the place name typed: not an area of the directory
        "area_id": None,
        "triage_code": "C",
        "disposition": "urgent_face_to_face",
        "referral": {"service": "crisis_team", "status": "pending"},
        "summary": "Seen again, calmer.",
        "matched_by": "chi",
        "confirmed": False,
    }
    assert await window_repeat(supervisor, START, START + 221 * DAY) == {
        "within_30d": 1,  # the third, 20 days after the second
        "within_12m": 2,  # the second (200 days after the first) too
    }


async def test_a_name_and_birth_date_match_is_possible_and_a_rejection_unlinks_it(
    sign_in: SignInFactory, clock: FakeClock, app: web.Application
) -> None:
    """Without a CHI the same name (however written) and date of birth is a possible match
    (`name_dob`); the clinician's rejection unlinks it: gone from the history, from the
    repeat counts and, as the two shared a person key, from the exports' person; rejecting
    again answers the same; a rejected match cannot be confirmed; each verdict is audited."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    first_clinician, clinician = await sign_in("clinician"), await sign_in("clinician")
    first = await ask(officer, clock, START, known_name="Zoë O'Neil", date_of_birth="1985-03-12")
    await assess(first_clinician, first)
    later = await ask(
        officer, clock, START + 3 * DAY, known_name="zoe oneil", date_of_birth="1985-03-12"
    )
    await clinician.post(f"/api/v1/requests/{later}/accept")
    found = await history(clinician, later)
    assert found["matched_by"] == "name_dob"
    assert [(c["request_id"], c["matched_by"], c["confirmed"]) for c in found["contacts"]] == [
        (first, "name_dob", False)
    ]
    assert await window_repeat(supervisor, START, START + 4 * DAY) == {
        "within_30d": 1,
        "within_12m": 1,
    }
    store = app[STORE]
    keys = await _person_keys(store.client, store.keys.prefix, first, later)
    assert keys[0] == keys[1]

    path = f"/api/v1/requests/{later}/history/reject"
    for _ in range(2):
        status, body = await clinician.post(path, {"request_id": first})
        assert status == 200, body
        assert body == {"request_id": later, "contact_id": first, "verdict": "rejected"}
    assert (await history(clinician, later))["contacts"] == []
    assert await window_repeat(supervisor, START, START + 4 * DAY) == {
        "within_30d": 0,
        "within_12m": 0,
    }
    keys = await _person_keys(store.client, store.keys.prefix, first, later)
    assert keys[0] != keys[1]
    status, body = await clinician.post(
        f"/api/v1/requests/{later}/history/confirm", {"request_id": first}
    )
    assert status == 409 and body["error"]["code"] == "match_rejected", body
    audit = await read_stream(store.client, store.keys.audit)
    verdicts = [e for e in audit if e["action"] == "match_rejected"]
    assert [(e["request_id"], e["contact_id"], e["user_id"]) for e in verdicts] == [
        (later, first, clinician.user.id)
    ]


async def _person_keys(client: aioredis.Redis, prefix: str, *ids: str) -> list[str]:
    return [await client.hget(f"{prefix}req:{i}", "person_key") for i in ids]  # type: ignore[misc]


async def test_confirming_a_possible_match_marks_it_confirmed(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A confirmed possible match is shown as confirmed and still counted; a CHI match is
    neither confirmed nor rejected (409 `chi_match`); a request not among the contacts is
    404."""
    officer = await sign_in("officer")
    first_clinician, clinician = await sign_in("clinician"), await sign_in("clinician")
    first = await ask(officer, clock, START, chi=CHI_B, **JANE)
    await assess(first_clinician, first)
    stranger = await ask(officer, clock, START + DAY, chi=CHI_A)
    await assess(first_clinician, stranger)
    later = await ask(officer, clock, START + 2 * DAY, **JANE)
    await clinician.post(f"/api/v1/requests/{later}/accept")
    status, body = await clinician.post(
        f"/api/v1/requests/{later}/history/confirm", {"request_id": first}
    )
    assert status == 200 and body["verdict"] == "confirmed", body
    (contact,) = (await history(clinician, later))["contacts"]
    assert (contact["request_id"], contact["matched_by"], contact["confirmed"]) == (
        first,
        "name_dob",
        True,
    )
    status, body = await clinician.post(
        f"/api/v1/requests/{later}/history/reject", {"request_id": stranger}
    )
    assert status == 404, body
    by_chi = await ask(officer, clock, START + 3 * DAY, chi=CHI_B)
    await clinician.post(f"/api/v1/requests/{later}/outcome", OUTCOME_FORM)
    await clinician.post(f"/api/v1/requests/{by_chi}/accept")
    for verdict in ("reject", "confirm"):
        status, body = await clinician.post(
            f"/api/v1/requests/{by_chi}/history/{verdict}", {"request_id": first}
        )
        assert status == 409 and body["error"]["code"] == "chi_match", body


async def test_another_chi_is_another_person_even_with_the_same_name_and_birth_date(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Two people with one name and birth date but their own CHI numbers are never linked
    to each other; a later request giving only name and birth date is a possible match of
    both (the clinician must tell); one giving only a CHI finds that person alone."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    twin_a = await ask(officer, clock, START, chi=CHI_A, **JANE)
    await assess(clinician, twin_a)
    other_chi = chi_of("010190", 500)
    twin_b = await ask(officer, clock, START + DAY, chi=other_chi, **JANE)
    await clinician.post(f"/api/v1/requests/{twin_b}/accept")
    assert (await history(clinician, twin_b))["contacts"] == []
    await clinician.post(f"/api/v1/requests/{twin_b}/outcome", OUTCOME_FORM)
    unsure = await ask(officer, clock, START + 2 * DAY, **JANE)
    await clinician.post(f"/api/v1/requests/{unsure}/accept")
    found = await history(clinician, unsure)
    assert [(c["request_id"], c["matched_by"]) for c in found["contacts"]] == [
        (twin_b, "name_dob"),
        (twin_a, "name_dob"),
    ]
    await clinician.post(f"/api/v1/requests/{unsure}/outcome", OUTCOME_FORM)
    by_chi = await ask(officer, clock, START + 3 * DAY, chi=CHI_A)
    await clinician.post(f"/api/v1/requests/{by_chi}/accept")
    found = await history(clinician, by_chi)
    assert [(c["request_id"], c["matched_by"]) for c in found["contacts"]] == [(twin_a, "chi")]


async def test_only_the_clinician_in_session_reads_the_history(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Officers and supervisors may not (403); another clinician gets 404, as for an unknown
    request; the request's own clinician gets 409 once the session is over."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    clinician, other = await sign_in("clinician"), await sign_in("clinician")
    rid = await ask(officer, clock, START, chi=CHI_A)
    path = f"/api/v1/requests/{rid}/history"
    assert (await officer.get(path))[0] == 403
    assert (await supervisor.get(path))[0] == 403
    assert (await other.get(path))[0] == 404  # waiting: offered to them, but not theirs
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    assert (await other.get(path))[0] == 404
    assert (await clinician.get("/api/v1/requests/0000000000000000/history"))[0] == 404
    assert (await other.post(f"{path}/reject", {"request_id": rid}))[0] == 404
    assert (await clinician.get(path))[0] == 200
    await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM)
    status, body = await clinician.get(path)
    assert status == 409 and body["error"]["code"] == "not_in_session", body


async def test_every_history_read_is_in_the_audit_with_its_reason(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Each read of the history appends an entry for the request (action `history`) and one
    for each earlier contact it showed (`history_contact`, naming the request read from),
    with the reason given in `X-Access-Reason`; the admin's audit log shows them."""
    officer, admin = await sign_in("officer"), await sign_in("admin")
    clinician, first_clinician = await sign_in("clinician"), await sign_in("clinician")
    first = await ask(officer, clock, START, chi=CHI_A)
    await assess(first_clinician, first)
    rid = await ask(officer, clock, START + DAY, chi=CHI_A)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    for _ in range(2):
        await history(clinician, rid)
    status, log = await admin.get(f"/api/v1/audit?request_id={rid}")
    assert status == 200, log
    reads = [e for e in log["entries"] if e["action"] == "history"]
    assert [(e["user_id"], e["reason"]) for e in reads] == [(clinician.user.id, "assessment")] * 2
    status, log = await admin.get(f"/api/v1/audit?request_id={first}")
    shown = [e for e in log["entries"] if e["action"] == "history_contact"]
    assert [(e["user_id"], e["reason"], e["contact_of"]) for e in shown] == [
        (clinician.user.id, "assessment", rid)
    ] * 2


async def test_contacts_are_linked_for_24_months_and_repeats_counted_within_30_days_and_12(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """An earlier contact exactly 30 days before counts within 30 days, one a millisecond
    more only within 12 months (365 days), one a millisecond past 365 days in neither; the
    history shows contacts of the last 730 days, not older."""
    officer, supervisor, clinician = (
        await sign_in("officer"),
        await sign_in("supervisor"),
        await sign_in("clinician"),
    )
    gaps = {"30d": 30 * DAY, "31d": 30 * DAY + 1, "365d": 365 * DAY, "366d": 365 * DAY + 1}
    expected = {"30d": (1, 1), "31d": (0, 1), "365d": (0, 1), "366d": (0, 0)}
    people = {name: chi_of(f"0{n + 1}0190", 100) for n, name in enumerate(gaps)}
    for n, name in enumerate(gaps):  # one person per gap, each seen first a second apart
        await assess(clinician, await ask(officer, clock, START + n * 1000, chi=people[name]))
    for n, (name, gap) in enumerate(gaps.items()):
        at = START + n * 1000 + gap
        await assess(clinician, await ask(officer, clock, at, chi=people[name]))
        found = await window_repeat(supervisor, at, at + 1)
        assert found == dict(zip(("within_30d", "within_12m"), expected[name], strict=True)), name
    chi, base = chi_of("050190", 100), START + 400 * DAY
    old, edge = [await ask(officer, clock, base + d, chi=chi) for d in (0, 1)]
    for rid in (old, edge):
        await assess(clinician, rid)
    rid = await ask(officer, clock, base + 730 * DAY + 1, chi=chi)
    await clinician.post(f"/api/v1/requests/{rid}/accept")
    assert [c["request_id"] for c in (await history(clinician, rid))["contacts"]] == [edge]


# ---- what the purge, supervisors and exports keep ----------------------------------------


async def test_the_purge_removes_the_identifiers_but_keeps_the_link(
    sign_in: SignInFactory, clock: FakeClock, app: web.Application
) -> None:
    """Past retention the CHI number, name and date of birth leave the record with the
    clinical summary; the person key stays, so a later request with the same CHI still
    finds the contact, shown with its codes but without the summary."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    first = await ask(officer, clock, START, chi=CHI_A, **JANE)
    await assess(clinician, first)
    store = app[STORE]
    assert await purge_due(store, retention_days=1, now_ms=START + 3 * DAY) == 1
    stored = await store.client.hgetall(store.keys.request(first))
    assert json.loads(stored["form"])["subject"] == {
        "age_band": "26_40",
        "sex": "female",
        "known_name": None,
        "chi": None,
        "date_of_birth": None,
    }
    assert stored["person_key"] and stored["person_match"] == "chi"
    assert CHI_A not in json.dumps(stored) and "1990-01-01" not in json.dumps(stored)
    later = await ask(officer, clock, START + 4 * DAY, chi=CHI_A)
    await clinician.post(f"/api/v1/requests/{later}/accept")
    (contact,) = (await history(clinician, later))["contacts"]
    assert (contact["request_id"], contact["triage_code"], contact["summary"]) == (first, "C", None)


async def test_supervisors_and_exports_see_no_identifiers(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """A supervisor reads the request without name, CHI number or date of birth; neither the
    CSV nor the FHIR export holds any of them; the CSV says yes or no to a repeat, and the
    FHIR export names the person by one pseudonym, the same for both of their requests."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    clinician = await sign_in("clinician")
    ids = [await ask(officer, clock, START + d * DAY, chi=CHI_A, **JANE) for d in (0, 10)]
    for rid in ids:
        await assess(clinician, rid)
    status, seen = await supervisor.get(f"/api/v1/requests/{ids[1]}")
    assert status == 200, seen
    assert {k: seen["subject"][k] for k in ("known_name", "chi", "date_of_birth")} == dict.fromkeys(
        ("known_name", "chi", "date_of_birth")
    )
    span = f"from={iso(START - DAY)}&to={iso(START + 20 * DAY)}"
    exported = {}
    for kind in ("csv", "fhir.ndjson"):
        response = await supervisor.client.get(f"/api/v1/stats/export.{kind}?{span}")
        assert response.status == 200
        exported[kind] = await response.text()
        for identifier in (CHI_A, "Jane", "1990-01-01", "010190"):
            assert identifier not in exported[kind], (kind, identifier)
    rows = list(csv.DictReader(io.StringIO(exported["csv"])))
    assert [(r["request_id"], r["repeat_30d"], r["repeat_12m"]) for r in rows] == [
        (ids[0], "no", "no"),
        (ids[1], "yes", "yes"),
    ]
    resources = [json.loads(line) for line in exported["fhir.ndjson"].splitlines()]
    patients = {r["subject"]["identifier"]["value"] for r in resources}
    assert len(resources) == 4 and len(patients) == 1  # two Encounters, two ServiceRequests


async def test_the_handover_names_the_identifiers_given(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """The receiving team's handover shows the CHI number and date of birth the officer
    gave, beside the name."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = await ask(officer, clock, START, chi=CHI_A, **JANE)
    await assess(clinician, rid)
    response = await clinician.client.get(f"/api/v1/requests/{rid}/handover")
    assert response.status == 200
    text = await response.text()
    for field, value in (("chi", CHI_A), ("date_of_birth", "1990-01-01"), ("known_name", "Jane")):
        assert f'data-field="{field}">{value}' in text, field


@pytest.mark.settings(person_key=None)
async def test_with_linking_off_nothing_is_linked_and_repeats_are_not_counted(
    sign_in: SignInFactory, clock: FakeClock, app: web.Application
) -> None:
    """Without TRIAGE_PERSON_KEY no person key is kept: the history is empty and says
    nothing was linked, the statistics' repeat figures are null, the CSV says no."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    clinician = await sign_in("clinician")
    first = await ask(officer, clock, START, chi=CHI_A)
    await assess(clinician, first)
    later = await ask(officer, clock, START + DAY, chi=CHI_A)
    await clinician.post(f"/api/v1/requests/{later}/accept")
    assert await history(clinician, later) == {"matched_by": None, "contacts": []}
    assert await window_repeat(supervisor, START, START + 2 * DAY) is None
    store = app[STORE]
    assert await store.client.hget(store.keys.request(later), "person_key") is None


async def test_racing_verdicts_move_the_counts_once(
    sign_in: SignInFactory, clock: FakeClock
) -> None:
    """Six rejections of one possible match sent at once all answer 200, and the repeat
    counts fall by one, not six; two officers asking about one person at the same moment
    are linked one way, the later to the earlier."""
    officer, other_officer, supervisor = (
        await sign_in("officer"),
        await sign_in("officer"),
        await sign_in("supervisor"),
    )
    clinician, first_clinician = await sign_in("clinician"), await sign_in("clinician")
    first = await ask(officer, clock, START, **JANE)
    await assess(first_clinician, first)
    later = await ask(officer, clock, START + DAY, **JANE)
    await clinician.post(f"/api/v1/requests/{later}/accept")
    answers = await asyncio.gather(
        *(
            clinician.post(f"/api/v1/requests/{later}/history/reject", {"request_id": first})
            for _ in range(6)
        )
    )
    assert [status for status, _ in answers] == [200] * 6
    assert await window_repeat(supervisor, START, START + 2 * DAY) == {
        "within_30d": 0,
        "within_12m": 0,
    }
    clock.now_ms = START + 5 * DAY
    pair = await asyncio.gather(
        *(new_request(o, subject=subject(chi=CHI_B)) for o in (officer, other_officer))
    )
    assert await window_repeat(supervisor, START + 5 * DAY, START + 6 * DAY) == {
        "within_30d": 1,
        "within_12m": 1,
    }
    linked = {}
    for one in pair:
        await first_clinician.post(f"/api/v1/requests/{one['id']}/accept")
        found = (await history(first_clinician, one["id"]))["contacts"]
        linked[one["id"]] = [c["request_id"] for c in found]
        await first_clinician.post(f"/api/v1/requests/{one['id']}/outcome", OUTCOME_FORM)
    assert sorted(linked.values(), key=len) in (
        [[], [pair[0]["id"]]],
        [[], [pair[1]["id"]]],
    )


async def test_the_repeat_figures_come_from_counters(
    sign_in: SignInFactory, clock: FakeClock, app: web.Application
) -> None:
    """A window of whole hours reads its repeat figures from the counters the create kept
    (not from the records, whose flags a test takes away), so the read does not grow with
    the number of requests stored."""
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    clinician = await sign_in("clinician")
    hour = START - START % 3_600_000
    for d in (0, 1, 2):
        await assess(clinician, await ask(officer, clock, START + d * 60_000, chi=CHI_A))
    store = app[STORE]
    for rid, _ in await store.requests.created_between("-inf", "+inf", skip=0, count=10):
        await store.client.hdel(store.keys.request(rid), "repeat_30d", "repeat_12m")
    assert await window_repeat(supervisor, hour, hour + 3_600_000) == {
        "within_30d": 2,
        "within_12m": 2,
    }


# ---- the repeat counts against a brute-force count -----------------------------------------

PEOPLE: list[dict[str, str | None]] = [
    {"chi": CHI_A, "known_name": "Jane Doe", "date_of_birth": "1990-01-01"},
    # another woman of the same name and birth date, with her own CHI number
    {"chi": "0101905009", "known_name": "Jane Doe", "date_of_birth": "1990-01-01"},
    {"chi": None, "known_name": "Zoë O'Neil", "date_of_birth": "1985-03-12"},
    {"chi": CHI_B, "known_name": "Sam Lee", "date_of_birth": "2000-02-29"},
    {"chi": "1506774121", "known_name": "Ali Khan", "date_of_birth": "1977-06-15"},
    {"chi": None, "known_name": "Chris Park", "date_of_birth": "1960-10-10"},
    {"chi": "3112999878", "known_name": "Mo Brown", "date_of_birth": "1999-12-31"},
]
# What the officer manages to give: weighted to the CHI, as the NHS in Scotland would be.
GIVEN = ["chi", "chi", "chi_name", "name", "name", "nothing", "name_only"]


def identifiers(rng: random.Random, person: dict[str, str | None]) -> dict[str, str]:
    """The identifiers an officer gives for `person` (the name written one way or another)."""
    given = rng.choice(GIVEN)
    name = str(person["known_name"])
    written = rng.choice([name, name.upper(), name.lower(), name.replace(" ", "  ")])
    found: dict[str, str] = {}
    if given in ("chi", "chi_name") and person["chi"]:
        found["chi"] = str(person["chi"])
    if given in ("chi_name", "name") or (given == "chi" and not person["chi"]):
        found.update(known_name=written, date_of_birth=str(person["date_of_birth"]))
    if given == "name_only":
        found["known_name"] = written
    return found


async def make_contacts(
    app: web.Application, rng: random.Random, count: int
) -> tuple[list[tuple[str, str]], int]:
    """`count` requests about the people above over 450 days, in random areas of both
    boards, each accepted, its possible matches rejected at random, and its outcome filed;
    the (request, contact) pairs rejected, and when the last request was made."""

    store, settings = app[STORE], app[SETTINGS]
    times = sorted(rng.sample(range(START, START + 450 * DAY, 10_000), count))
    rejected: list[tuple[str, str]] = []
    for n, created in enumerate(times):
        board = rng.choice(list(AREAS))
        body = request_form(subject=subject(**identifiers(rng, rng.choice(PEOPLE))))
        body["location"].update(area_id=rng.choice(AREAS[board]), area="")
        record, _ = await lifecycle.create_request(
            store,
            settings,
            OFFICER,
            RequestForm.model_validate(body),
            now_ms=created,
            idempotency_key=None,
        )
        clinician = User(id=f"clin{n}", username=f"c{n}", display_name="C", role=Role.CLINICIAN)
        record = await lifecycle.accept_request(store, clinician, record.id, now_ms=created + 1)
        for contact in (await contacts.read_history(store, record, settings.areas)).contacts:
            if contact.matched_by == "name_dob" and rng.random() < 0.4:
                await contacts.judge_match(
                    store,
                    settings,
                    clinician,
                    record,
                    contact.request_id,
                    "rejected",
                    now_ms=created + 2,
                )
                rejected.append((record.id, contact.request_id))
        outcome = OutcomeForm.model_validate(SHORT_OUTCOME_FORM)
        await lifecycle.file_outcome(
            store, settings, clinician, record.id, outcome, now_ms=created + 3
        )
    return rejected, times[-1]


async def test_repeat_counts_match_a_brute_force_count(
    sign_in: SignInFactory,
    clock: FakeClock,
    app: web.Application,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """For 240 requests about seven people (two sharing a name and birth date, some known
    only by name and birth date, names written differently) over 450 days in two boards,
    with possible matches rejected at random, the repeat figures of the statistics (whole
    service and per board, any window), of the CSV (each row) and of each board's monthly
    report equal a brute-force comparison of every pair of requests' identifiers, also after
    the counters are deleted and rebuilt from the records; the FHIR export names one
    pseudonymous person for the requests that gave one CHI number."""
    rng = random.Random(20260105)
    rejected, last = await make_contacts(app, rng, 240)
    clock.now_ms = last + DAY
    records, _ = await load_all(redis_client, key_prefix)
    flags = repeat_flags(records, set(rejected))
    assert rejected and sum(f["within_30d"] for f in flags.values()) > 20
    assert sum(f["within_12m"] and not f["within_30d"] for f in flags.values()) > 5
    supervisor = await sign_in("supervisor")
    windows = [(START, START + 300 * DAY), (START + 200 * DAY, START + 451 * DAY)]
    for _ in range(6):
        a = rng.randrange(START, START + 400 * DAY)
        windows.append((a, a + rng.randrange(60_000, 300 * DAY)))
    for a, b in windows:
        for board in (None, *AREAS):
            query = f"from={iso(a)}&to={iso(b)}" + (f"&board={board}" if board else "")
            status, found = await supervisor.get(f"/api/v1/stats?{query}")
            assert status == 200, found
            chosen = [
                r["id"]
                for r in records
                if a <= int(r["created_ms"]) < b and board in (None, r["board"])
            ]
            assert found["window"]["repeat"] == repeat_counts(flags, chosen), (board, a, b)
    response = await supervisor.client.get(
        f"/api/v1/stats/export.csv?from={iso(START + 100 * DAY)}&to={iso(START + 451 * DAY)}"
    )
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) > 100
    for row in rows:
        truth = flags[row["request_id"]]
        got = {"within_30d": row["repeat_30d"] == "yes", "within_12m": row["repeat_12m"] == "yes"}
        assert got == truth, row["request_id"]
    for board in AREAS:
        status, report = await supervisor.get(
            f"/api/v1/reports/monthly?board={board}&month=2026-06"
        )
        assert status == 200, report
        zone = ZoneInfo(ZONES[board])
        chosen = [
            r["id"]
            for r in records
            if r["board"] == board
            and datetime.fromtimestamp(int(r["created_ms"]) / 1000, zone).strftime("%Y-%m")
            == "2026-06"
        ]
        assert report["repeat"] == repeat_counts(flags, chosen), board
    response = await supervisor.client.get(
        f"/api/v1/stats/export.fhir.ndjson?from={iso(START)}&to={iso(START + 300 * DAY)}"
    )
    resources = [json.loads(line) for line in (await response.text()).splitlines()]
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    by_id = {r["id"]: r for r in records}
    patient_of_chi: dict[str, set[str]] = {}
    for e in encounters:
        subject_given = json.loads(by_id[e["id"]]["form"])["subject"]
        if subject_given.get("chi"):
            patient_of_chi.setdefault(subject_given["chi"], set()).add(
                e["subject"]["identifier"]["value"]
            )
    await app[STORE].stats.delete_counters()
    await rebuild_stats(app[STORE], app[SETTINGS], clock)
    for a, b in windows[:2]:
        status, found = await supervisor.get(f"/api/v1/stats?from={iso(a)}&to={iso(b)}")
        chosen = [r["id"] for r in records if a <= int(r["created_ms"]) < b]
        assert found["window"]["repeat"] == repeat_counts(flags, chosen), "rebuilt"
    assert len(patient_of_chi) >= 4
    assert all(len(patients) == 1 for patients in patient_of_chi.values())
    assert len(set().union(*patient_of_chi.values())) == len(patient_of_chi)
