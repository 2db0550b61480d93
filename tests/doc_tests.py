"""The tests the documents name as proof (docs/security.md, docs/safety/hazard-log.md), checked
against pytest's own collection and results: each must be collected and pass, never skip."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "docs" / "security.md", ROOT / "docs" / "safety" / "hazard-log.md")
NAMED = re.compile(r"`(test_\w+)`")


def named_tests(documents: Iterable[Path] = DOCUMENTS) -> dict[str, set[str]]:
    """Test function name → the documents naming it."""
    found: dict[str, set[str]] = {}
    for document in documents:
        for name in NAMED.findall(document.read_text()):
            found.setdefault(name, set()).add(document.relative_to(ROOT).as_posix())
    return found


def function_name(nodeid: str) -> str:
    """`tests/test_x.py::test_y[param]` → `test_y` (a class's method: its own name)."""
    return nodeid.rsplit("::", 1)[-1].split("[", 1)[0]


def unproven(named: dict[str, set[str]], outcomes: dict[str, set[str]]) -> list[str]:
    """One line per named test that did not run and pass: missing, skipped or failed.

    `outcomes` maps a test function's name to the outcomes of its items (parametrised tests
    have several); a named test proves its control only if every item passed.
    """
    problems = []
    for name in sorted(named):
        where = ", ".join(sorted(named[name]))
        seen = outcomes.get(name)
        if not seen:
            problems.append(f"{name} (named in {where}) was not collected")
        elif seen != {"passed"}:
            problems.append(f"{name} (named in {where}) {'/'.join(sorted(seen))}")
    return problems
