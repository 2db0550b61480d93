"""The README and docs/: a README short enough to read to the end, a configuration reference
that is the settings' own, and links that lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.checkout import own_files
from triage_service.cli import main
from triage_tools.configuration_doc import DOCUMENT, with_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
# [text](target) and ![alt](target), the target up to a space or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def test_readme_is_at_most_300_lines() -> None:
    """The README a newcomer reads is at most 300 lines; the reference lives in docs/."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


def test_configuration_doc_is_written_from_the_settings() -> None:
    """docs/configuration.md's table of every setting is exactly what the settings' own
    declarations write (scripts/configuration-doc), so it cannot drift from the code."""
    document = DOCUMENT.read_text(encoding="utf-8")
    assert document == with_table(document), "run scripts/configuration-doc"


def test_configuration_doc_lists_every_flag_of_serve(capsys: pytest.CaptureFixture[str]) -> None:
    """Every flag `triage-service serve --help` lists, with its TRIAGE_* variable, is in
    docs/configuration.md."""
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = capsys.readouterr().out
    listed = set(re.findall(r"(--[a-z][a-z0-9-]+)", shown)) - {"--help"}
    variables = set(re.findall(r"env\s+(TRIAGE_[A-Z0-9_]+)", shown))
    document = DOCUMENT.read_text(encoding="utf-8")
    assert len(listed) > 40 and len(variables) > 40
    assert {flag for flag in listed if f"`{flag}`" not in document} == set()
    assert {name for name in variables if f"`{name}`" not in document} == set()


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in HEADING.findall(text)
    }


def broken_links(path: Path) -> list[str]:
    """The relative links of a Markdown file whose file (or heading) does not exist."""
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        file, _, anchor = target.partition("#")
        found = (path.parent / file).resolve() if file else path
        if not found.exists() or (
            anchor and found.suffix == ".md" and anchor not in anchors(found)
        ):
            broken.append(target)
    return broken


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    """Every relative link and image in the README and docs/ points at a file of the
    checkout, and a link to a heading at a heading that exists."""
    assert broken_links(path) == []


def test_every_script_named_exists() -> None:
    """Each `scripts/NAME` the README, the documents, the code or the tests name is an
    executable file of the checkout (a renamed or removed script leaves no stale mention)."""
    sources = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for folder in ("triage_service", "triage_client", "triage_tools", "tests", "scripts"):
        sources += [p for p in own_files(ROOT / folder) if p.suffix in ("", ".py", ".md")]
    named = {
        name
        for path in sources
        for name in re.findall(r"\bscripts/([a-z_][a-z_-]*)", path.read_text(errors="replace"))
    }
    assert named
    for name in sorted(named):
        script = ROOT / "scripts" / name
        assert script.is_file() and script.stat().st_mode & 0o111, f"scripts/{name}"
