"""The service package's import graph: no circle between files or between its parts, nothing
imported from outside it that only tests and tools use, and no module too long to read."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from support.checkout import own_files, parse_python

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "triage_service"
# Code that only tests and tools use: the service never imports it.
OUTSIDE = ("triage_client", "triage_tools", "tests", "support", "playwright", "pytest")
MAX_LINES = 400
# None today: a module that grows past the limit is split, not listed here.
LONG_ALLOWED: set[str] = set()


def module_name(path: Path) -> str:
    """`triage_service/web/app.py` -> `triage_service.web.app` (a package by its folder)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def parse(path: Path) -> ast.Module:
    """The module's syntax tree."""
    return parse_python(path.read_text(encoding="utf-8"))


def imported(path: Path) -> Iterator[str]:
    """Every module `path` imports, at the top, inside a function or for type checking only;
    for `from a import b` both `a` and `a.b` (b may be a module)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imported(path) if m in paths and m != name}
        for name, path in paths.items()
    }


def part(module: str) -> str:
    """The part of the package a module belongs to: its first folder, or itself."""
    return ".".join(module.split(".")[:2])


def circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of `graph`, or an empty list when it has none."""
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as e:
        return list(e.args[1])
    return []


def test_no_module_imports_itself_back_in_a_circle() -> None:
    """No file of the service imports, directly or through others, a file that imports it."""
    assert circle(import_graph()) == []


def test_the_parts_of_the_service_stand_on_each_other_without_a_circle() -> None:
    """The package's folders and top modules (domain, store, service, web, rtc, settings, ...)
    import each other in one direction only: each can be placed above everything it imports,
    so no import runs back up."""
    parts: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        parts.setdefault(part(module), set()).update(part(t) for t in targets)
    for name, targets in parts.items():
        targets.discard(name)
    assert circle(parts) == []


def test_the_service_imports_no_test_or_tool_code() -> None:
    """Nothing in the service package imports the client, the tools, the tests or the test
    libraries (Playwright, pytest): what is installed is what runs."""
    found = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in PACKAGE.rglob("*.py")
        for module in imported(path)
        if module.split(".")[0] in OUTSIDE
    }
    assert found == set()


def test_no_module_of_the_service_client_or_tools_is_over_400_lines() -> None:
    """Every module of the service package, the client and the tools is at most 400 lines
    long."""
    long = {
        str(path.relative_to(ROOT)): lines
        for package in (PACKAGE, ROOT / "triage_client", ROOT / "triage_tools")
        for path in package.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(long) <= LONG_ALLOWED, long


# `import a, b` or `from a import ...` (also `from .test_x`): the module names at a line's start.
IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w., ]+))", re.M)


def is_test_module(name: str) -> bool:
    """Whether an imported module name is one of the suite's test modules."""
    *package, module = name.split(".")
    return module.startswith("test_") and (not package or package == ["browser"])


def test_no_test_module_imports_another() -> None:
    """Tests share code through conftest.py and tests/support/, never by importing another
    test module (which would run its tests' imports and fixtures twice and tie files together)."""
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in own_files(ROOT / "tests", "*.py")
        for found in IMPORT_LINE.findall(path.read_text(encoding="utf-8"))
        for name in " ".join(found).replace(",", " ").split()
        if is_test_module(name.lstrip("."))
    ]
    assert offenders == []
