"""docs/security.md names only tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

from support.checkout import own_files

ROOT = Path(__file__).resolve().parents[1]


def defined_tests() -> set[str]:
    """The name of every test function defined in the suite's test modules."""
    sources = "\n".join(p.read_text() for p in own_files(ROOT / "tests", "test_*.py"))
    return set(re.findall(r"^\s*(?:async )?def (test_\w+)\(", sources, re.M))


def test_every_test_named_in_the_security_map_exists() -> None:
    """Each `test_…` named in docs/security.md is a test function of the suite."""
    text = (ROOT / "docs" / "security.md").read_text()
    named = set(re.findall(r"`(test_\w+)`", text))
    assert len(named) > 40
    assert not named - defined_tests()


def test_every_test_named_in_the_hazard_log_exists() -> None:
    """Each `test_…` named in docs/safety/hazard-log.md is a test function of the suite, and
    every hazard row names at least one."""
    text = (ROOT / "docs" / "safety" / "hazard-log.md").read_text()
    named = set(re.findall(r"`(test_\w+)`", text))
    assert len(named) > 40
    assert not named - defined_tests()
    rows = [line for line in text.splitlines() if re.match(r"\| (H|SN-|F)\d", line)]
    assert rows and all("`test_" in row or "**planned**" in row for row in rows)
