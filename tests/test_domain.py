"""Plain unit tests of the clinical rules and the settings, no server and no Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from triage_service.domain.areas import parse_directory
from triage_service.domain.codes import AgeBand, ReferralService, Urgency
from triage_service.domain.errors import Invalid
from triage_service.domain.models import OutcomeForm
from triage_service.domain.outcome_rules import RequestFacts, check_outcome
from triage_service.domain.rules import (
    cssrs_ideation,
    cssrs_imminent_risk,
    estimate_wait_s,
    mwc_notice_due,
    queue_score,
    referral_due_at,
    request_priority,
)
from triage_service.domain.teams import team_name
from triage_service.domain.words import plural
from triage_service.settings import Settings, SettingsError

NO_RISK: dict[str, bool | None] = {
    "q1": True,
    "q2": False,
    "q3": None,
    "q4": None,
    "q5": None,
    "q6_lifetime": False,
    "q6_recent": False,
}
MADE_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TARGETS = {"B": 4, "C": 24, "D": 72, "E": 672}


# ---- priority and the C-SSRS screen --------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "priority"), [(Urgency.IMMEDIATE, 1), (Urgency.URGENT, 2), (Urgency.ROUTINE, 3)]
)
def test_priority_follows_urgency_without_screen(urgency: Urgency, priority: int) -> None:
    """Without a C-SSRS screen the officer's urgency alone sets the priority."""
    assert request_priority(urgency, None) == priority
    assert request_priority(urgency, {}) == priority
    assert request_priority(urgency, NO_RISK) == priority


@pytest.mark.parametrize("question", ["q4", "q5", "q6_recent"])
@pytest.mark.parametrize("urgency", list(Urgency))
def test_imminent_risk_forces_priority_one(question: str, urgency: Urgency) -> None:
    """A yes to q4, q5 or recent behaviour (q6) puts even a routine request at priority 1."""
    cssrs = {**NO_RISK, question: True}
    assert cssrs_imminent_risk(cssrs)
    assert request_priority(urgency, cssrs) == 1


@pytest.mark.parametrize("question", ["q1", "q6_lifetime"])
def test_lifetime_behaviour_and_wish_are_not_imminent(question: str) -> None:
    """A wish to be dead or behaviour only over a lifetime does not raise the priority."""
    cssrs: dict[str, bool | None] = {question: True}
    assert not cssrs_imminent_risk(cssrs)
    assert not cssrs_ideation(cssrs)
    assert request_priority(Urgency.ROUTINE, cssrs) == 3


@pytest.mark.parametrize("question", ["q2", "q3"])
def test_active_ideation_lifts_routine_to_two(question: str) -> None:
    """Active suicidal thoughts or a method lift routine to 2 and never lower immediate."""
    cssrs: dict[str, bool | None] = {question: True}
    assert cssrs_ideation(cssrs)
    assert request_priority(Urgency.ROUTINE, cssrs) == 2
    assert request_priority(Urgency.URGENT, cssrs) == 2
    assert request_priority(Urgency.IMMEDIATE, cssrs) == 1


def test_unanswered_questions_count_as_no() -> None:
    """Skipped (null) questions never count as a yes."""
    skipped: dict[str, bool | None] = {q: None for q in NO_RISK}
    assert not cssrs_imminent_risk(skipped) and not cssrs_ideation(skipped)
    assert request_priority(Urgency.ROUTINE, skipped) == 3


def test_queue_score_orders_priority_then_arrival() -> None:
    """A later priority-1 request is served before an earlier priority-2 one; ties by arrival."""
    now = 1_764_000_000_000
    scores = {
        "p2-early": queue_score(2, now),
        "p1-late": queue_score(1, now + 3_600_000),
        "p1-early": queue_score(1, now),
        "p3-first": queue_score(3, now - 86_400_000),
        "p2-late": queue_score(2, now + 1),
    }
    assert sorted(scores, key=scores.__getitem__) == [
        "p1-early",
        "p1-late",
        "p2-early",
        "p2-late",
        "p3-first",
    ]


def test_queue_score_is_exact_in_a_double() -> None:
    """Scores stay exactly representable as a Redis double, so close arrivals keep order."""
    now = 1_764_000_000_000
    assert queue_score(3, now) < queue_score(3, now + 1)
    assert float(queue_score(3, now)) == queue_score(3, now)
    assert queue_score(3, now) < 2**53


# ---- due times ------------------------------------------------------------------------------


@pytest.mark.parametrize(("urgency", "hours"), [("B", 4), ("C", 24), ("D", 72), ("E", 672)])
def test_referral_due_from_its_urgency_target(urgency: str, hours: int) -> None:
    """A referral is due after its own urgency's configured response target."""
    due = referral_due_at(
        urgency=urgency,
        service=ReferralService.CRISIS_TEAM,
        made_at=MADE_AT,
        response_targets_h=TARGETS,
    )
    assert due == MADE_AT + timedelta(hours=hours)


@pytest.mark.parametrize(("urgency", "hours"), [("B", 1), ("C", 6), ("D", 30), ("E", 100)])
def test_referral_due_uses_custom_targets(urgency: str, hours: int) -> None:
    """Targets are settings, not literals: custom hours are honoured per urgency."""
    custom = {"B": 1, "C": 6, "D": 30, "E": 100}
    due = referral_due_at(
        urgency=urgency, service=ReferralService.GP, made_at=MADE_AT, response_targets_h=custom
    )
    assert due == MADE_AT + timedelta(hours=hours)


@pytest.mark.parametrize("urgency", "ABCDE")
def test_dbi_referral_always_due_in_24_hours(urgency: str) -> None:
    """A Distress Brief Intervention referral is due within 24 h whatever its urgency."""
    due = referral_due_at(
        urgency=urgency,
        service=ReferralService.DBI,
        made_at=MADE_AT,
        response_targets_h={"B": 1, "C": 2, "D": 3, "E": 4},
    )
    assert due == MADE_AT + timedelta(hours=24)


def test_urgency_a_referral_due_now() -> None:
    """Urgency A is an emergency: its referral is due at once."""
    due = referral_due_at(
        urgency="A",
        service=ReferralService.LIAISON_PSYCHIATRY,
        made_at=MADE_AT,
        response_targets_h=TARGETS,
    )
    assert due == MADE_AT


@pytest.mark.parametrize("days", [14, 7])
def test_mwc_notice_due_days_after_removal(days: int) -> None:
    """s298: the Mental Welfare Commission notice is due `days` after the removal."""
    removed = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert mwc_notice_due(removed, days=days) == removed + timedelta(days=days)


# ---- wait estimate --------------------------------------------------------------------------


def test_estimate_with_free_clinician_is_median_answer_time() -> None:
    """With a clinician free for this position, the wait is the median recent answer time."""
    assert (
        estimate_wait_s(
            position=1,
            recent_waits_s=[10, 30, 20],
            recent_sessions_s=[],
            clinicians_available=1,
            clinicians_busy=0,
        )
        == 20
    )
    assert (
        estimate_wait_s(
            position=2,
            recent_waits_s=[10, 20, 30, 40],
            recent_sessions_s=[],
            clinicians_available=3,
            clinicians_busy=0,
        )
        == 25
    )


def test_estimate_without_history_defaults_to_a_minute() -> None:
    """Without any history the answer time is taken as 60 s."""
    assert (
        estimate_wait_s(
            position=1,
            recent_waits_s=[],
            recent_sessions_s=[],
            clinicians_available=1,
            clinicians_busy=0,
        )
        == 60.0
    )


def test_estimate_with_nobody_on_duty_grows_with_position() -> None:
    """With no clinician on duty the estimate is at least a minute per place in the queue."""
    assert (
        estimate_wait_s(
            position=3,
            recent_waits_s=[],
            recent_sessions_s=[],
            clinicians_available=0,
            clinicians_busy=0,
        )
        == 180.0
    )
    assert (
        estimate_wait_s(
            position=1,
            recent_waits_s=[300],
            recent_sessions_s=[],
            clinicians_available=0,
            clinicians_busy=0,
        )
        == 300.0
    )


def test_estimate_waits_for_sessions_to_end() -> None:
    """Past the free clinicians, each round of sessions adds a median session length."""
    base: dict[str, Any] = {
        "recent_waits_s": [30],
        "recent_sessions_s": [600, 1200, 900],
        "clinicians_available": 1,
        "clinicians_busy": 1,
    }
    assert estimate_wait_s(position=1, **base) == 30
    assert estimate_wait_s(position=2, **base) == 30 + 900
    assert estimate_wait_s(position=3, **base) == 30 + 900
    assert estimate_wait_s(position=4, **base) == 30 + 2 * 900
    default_session = {**base, "recent_sessions_s": []}
    assert estimate_wait_s(position=2, **default_session) == 30 + 1200


def test_estimate_never_decreases_with_position() -> None:
    """A request further back is never estimated to wait less than one ahead of it."""
    estimates = [
        estimate_wait_s(
            position=p,
            recent_waits_s=[45, 50],
            recent_sessions_s=[700],
            clinicians_available=2,
            clinicians_busy=3,
        )
        for p in range(1, 20)
    ]
    assert estimates == sorted(estimates)


# ---- outcome rules --------------------------------------------------------------------------


def outcome(**fields: Any) -> OutcomeForm:
    """An OutcomeForm with a low risk and the given fields."""
    body: dict[str, Any] = {
        "triage_code": "D",
        "risk": {"to_self": "low", "to_others": "none"},
        **fields,
    }
    return OutcomeForm.model_validate(body)


REFERRAL = {"service": "gp", "urgency": "D"}
PLACE = {
    "name": "Royal Infirmary",
    "address": "84 Castle St",
    "is_police_station": False,
    "removed_at": "2026-11-26T01:00:00Z",
    "person_name": "Jane Doe",
    "person_address": "1 High St",
    "circumstances": "Distressed on the bridge, a public place.",
}
FACTS = RequestFacts(
    created_at=datetime(2026, 11, 26, 0, 50, tzinfo=UTC), age_band=AgeBand.AGE_18_25
)
NOW = datetime(2026, 11, 26, 1, 20, tzinfo=UTC)


def check(form: OutcomeForm) -> None:
    """`check_outcome` for a request made half an hour before now."""
    check_outcome(form, FACTS, now=NOW)


def rejected(form: OutcomeForm) -> Invalid:
    """The `Invalid` (422) that `check_outcome` raises for `form`."""
    with pytest.raises(Invalid) as caught:
        check(form)
    return caught.value


@pytest.mark.parametrize(
    ("disposition", "service"),
    [("dbi_referral", "dbi"), ("non_urgent_referral", "gp"), ("urgent_face_to_face", "gp")],
)
def test_referral_dispositions_need_a_referral(disposition: str, service: str) -> None:
    """The three referral dispositions need `referral` and pass with one."""
    error = rejected(outcome(disposition=disposition))
    assert error.code == "referral_required" and error.fields == {
        "referral": "required for this disposition"
    }
    check(outcome(disposition=disposition, referral={**REFERRAL, "service": service}))


@pytest.mark.parametrize(
    ("disposition", "code"),
    [
        ("advice_only", "E"),
        ("resolved_on_scene", "D"),
        ("nhs24_mh_hub", "D"),
        ("emergency_department", "C"),
        ("informal_admission", "C"),
        ("medical_examination_detention", "C"),
        ("criminal_justice", "D"),
        ("emergency_services", "B"),
        ("not_completed", "D"),
    ],
)
def test_other_dispositions_need_nothing_more(disposition: str, code: str) -> None:
    """Dispositions without a referral or s297 removal pass with the basic fields (and the
    emergency department with its conveyance)."""
    how = {"conveyance": "ambulance"} if disposition == "emergency_department" else {}
    check(outcome(triage_code=code, disposition=disposition, **how))
    referral = {**REFERRAL, "urgency": code}
    check(outcome(triage_code=code, disposition=disposition, referral=referral, **how))


def test_place_of_safety_needs_its_details() -> None:
    """s297 removal needs the s298 details; with them it passes."""
    error = rejected(outcome(triage_code="B", disposition="place_of_safety_s297"))
    assert error.code == "place_of_safety_required" and "place_of_safety" in (error.fields or {})
    check(outcome(triage_code="B", disposition="place_of_safety_s297", place_of_safety=PLACE))


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_police_station_needs_a_reason(reason: str | None) -> None:
    """A police station as place of safety needs a stated reason."""
    place = {**PLACE, "is_police_station": True, "police_station_reason": reason}
    s297 = {"triage_code": "B", "disposition": "place_of_safety_s297"}
    error = rejected(outcome(**s297, place_of_safety=place))
    assert error.code == "police_station_reason_required"
    assert error.fields == {"place_of_safety.police_station_reason": "required"}
    place["police_station_reason"] = "No hospital bed; person violent"
    check(outcome(**s297, place_of_safety=place))


def test_place_of_safety_only_with_s297() -> None:
    """Place-of-safety details on any other disposition are refused."""
    error = rejected(outcome(triage_code="E", disposition="advice_only", place_of_safety=PLACE))
    assert error.code == "place_of_safety_unexpected"


def test_code_a_cannot_be_advice_only() -> None:
    """An emergency (code A) outcome cannot be advice only."""
    error = rejected(outcome(triage_code="A", disposition="advice_only"))
    assert error.code == "inconsistent_outcome" and "disposition" in (error.fields or {})
    check(outcome(triage_code="A", disposition="emergency_services"))


# ---- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"port": 0},
        {"port": 65536},
        {"port": -1},
        {"session_idle_s": 0},
        {"session_absolute_s": -5},
        {"login_max_failures": 0},
        {"max_body_bytes": 0},
        {"max_wait_s": 0},
        {"sweep_interval_s": 0.0},
        {"mwc_notice_days": 0},
        {"retention_days": -1},
        {"turn_ttl_s": 3601},
        {"redis_url": "http://localhost:6379"},
        {"redis_url": "localhost:6379"},
        {"tls_cert": "cert.pem"},
        {"tls_key": "key.pem"},
        {"ice_servers": "not json"},
        {"ice_servers": '{"urls": "stun:x"}'},
        {"ice_servers": '[{"username": "u"}]'},
        {"ice_servers": "[1]"},
        {"response_targets_h": "B:4,C:24"},
        {"response_targets_h": "B:4,C:x,D:72,E:672"},
        {"response_targets_h": "B4,C24,D72,E672"},
        {"response_targets_h": "A:1,B:4,C:24,D:72,E:1"},
        {"escalate_after_s": "high:60"},
        {"escalate_after_s": "1:soon"},
    ],
    ids=lambda bad: ",".join(f"{k}={v}" for k, v in bad.items()),
)
def test_bad_settings_raise(bad: dict[str, Any]) -> None:
    """Each setting the service cannot run with raises SettingsError naming it."""
    with pytest.raises(SettingsError) as caught:
        Settings(**bad)
    assert next(iter(bad)).split("_")[0] in str(caught.value)


def test_default_settings_are_valid() -> None:
    """The defaults make a working configuration with the documented targets."""
    settings = Settings()
    assert settings.response_targets == {"B": 4, "C": 24, "D": 72, "E": 672}
    assert settings.escalation_thresholds == {1: 60, 2: 300, 3: 600}
    assert settings.ice_server_list == [] and not settings.tls
    assert settings.max_body_bytes == 65536 and settings.mwc_notice_days == 14


def test_custom_targets_parse() -> None:
    """Response targets and escalation thresholds are parsed from K:N lists."""
    settings = Settings(response_targets_h="B:2, C:12 ,D:48,E:100", escalate_after_s="1:30,2:90")
    assert settings.response_targets == {"B": 2, "C": 12, "D": 48, "E": 100}
    assert settings.escalation_thresholds == {1: 30, 2: 90}


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("TRIAGE_PORT", "abc"),
        ("TRIAGE_SESSION_IDLE_S", "1.5"),
        ("TRIAGE_SWEEP_INTERVAL_S", "x"),
        ("TRIAGE_DEMO_ACCOUNTS", "maybe"),
        ("TRIAGE_PORT", "0"),
        ("TRIAGE_REDIS_URL", "ftp://x"),
    ],
)
def test_from_env_rejects_bad_values(name: str, raw: str) -> None:
    """A bad TRIAGE_* variable fails at start-up with SettingsError."""
    with pytest.raises(SettingsError):
        Settings.from_env({name: raw})


def test_from_env_reads_variables() -> None:
    """TRIAGE_* variables are converted to the setting's type."""
    settings = Settings.from_env(
        {
            "TRIAGE_PORT": "9000",
            "TRIAGE_SWEEP_INTERVAL_S": "0.5",
            "TRIAGE_DEMO_ACCOUNTS": "yes",
            "TRIAGE_REDIS_URL": "unix:///tmp/r.sock",
            "TRIAGE_SECRET_KEY": "",
            "TRIAGE_PHONE_FALLBACK": "0300 123 4567",
            "UNRELATED": "x",
        }
    )
    assert settings.port == 9000 and settings.sweep_interval_s == 0.5
    assert settings.demo_accounts is True
    assert settings.redis_url == "unix:///tmp/r.sock"
    assert settings.secret_key is None
    assert settings.phone_fallback == "0300 123 4567"


def test_flags_override_environment() -> None:
    """A command-line flag wins over the TRIAGE_* variable; unset flags do not override."""
    env = {"TRIAGE_PORT": "9000", "TRIAGE_HOST": "0.0.0.0", "TRIAGE_MAX_WAIT_S": "60"}
    settings = Settings.from_env(
        env, argv=["--port", "9100", "--self-signed", "--response-targets-h", "B:1,C:2,D:3,E:4"]
    )
    assert settings.port == 9100
    assert settings.host == "0.0.0.0" and settings.max_wait_s == 60
    assert settings.self_signed is True
    assert settings.response_targets == {"B": 1, "C": 2, "D": 3, "E": 4}


def test_from_env_without_anything_gives_defaults() -> None:
    """No variables and no flags give the defaults."""
    assert Settings.from_env({}, argv=[]) == Settings()


def test_counts_read_in_the_right_number() -> None:
    """One second, two seconds, no seconds; a given plural where "s" would be wrong."""
    assert plural(1, "second") == "1 second"
    assert plural(2, "second") == "2 seconds"
    assert plural(0, "second") == "0 seconds"
    assert plural(3, "day") == "3 days"
    assert plural(2, "person", "people") == "2 people"
    assert plural(1, "person", "people") == "1 person"


def test_a_team_is_named_as_people_call_it() -> None:
    """`crisis_team:lothian` reads as the areas file names the team, else as its service and
    its board ("CAMHS, NHS Lothian"); a board the directory lacks leaves the service alone."""
    directory = parse_directory(
        """
[boards.lothian]
name = "NHS Lothian"
[[boards.lothian.areas]]
id = "leith"
name = "Leith"
phone_fallback = "0131 000 0001"
[boards.lothian.teams.crisis_team]
name = "Lothian Crisis Team"
phone = "0131 000 0009"
""",
        default_timezone="Europe/London",
    )
    assert team_name("crisis_team:lothian", directory) == "Lothian Crisis Team"
    assert team_name("camhs:lothian", directory) == "CAMHS, NHS Lothian"
    assert team_name("liaison_psychiatry:elsewhere", directory) == "Liaison psychiatry"
