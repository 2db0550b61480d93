"""Settings are parsed once: every structured setting is a cached property, checked at
start-up and answered from the cache after, with no `noqa` forcing a read; and the package
holds no lint exception and no `assert` narrowing a type."""

from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path

import pytest

from support.checkout import parse_python
from triage_service.settings import Settings, SettingsError

PACKAGE = Path(__file__).resolve().parent.parent / "triage_service"
PARSED = [name for name, value in vars(Settings).items() if isinstance(value, cached_property)]


@pytest.mark.parametrize("name", PARSED)
def test_a_structured_setting_is_parsed_once(name: str) -> None:
    """A second read answers the very object the start-up check parsed."""
    settings = Settings(escalate_after_s="1:60,2:300,3:900", team_webhooks="")
    assert name in vars(settings)  # parsed by the start-up check
    assert getattr(settings, name) is getattr(settings, name)


def test_the_parsed_settings_are_those_given_as_text() -> None:
    """The thresholds, targets, webhooks, roles, networks and files are all among them."""
    assert {
        "response_targets",
        "escalation_thresholds",
        "fallback_thresholds",
        "overflow_thresholds",
        "alert_webhook",
        "team_webhooks_by_team",
        "local_roles",
        "mfa_roles",
        "sentinel_addresses",
        "ice_server_list",
        "areas",
        "oidc_providers",
        "trusted_proxy_networks",
    } <= set(PARSED)


def test_a_bad_structured_setting_fails_at_start_up() -> None:
    """Constructing the settings parses them: a bad threshold list is refused there."""
    with pytest.raises(SettingsError):
        Settings(escalate_after_s="1:sixty")


def test_no_noqa_in_the_package() -> None:
    """No line of the service needs a lint exception."""
    found = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "# noqa" in line
    ]
    assert found == []


def test_no_assert_narrows_types_in_the_package() -> None:
    """Production code checks explicitly (or types its values so no check is needed): an
    `assert` vanishes under `python -O` and turns a bad state into a bare AssertionError."""
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(parse_python(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert found == []
