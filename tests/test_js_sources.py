"""The pages' ES modules: each shared helper written once, and no failure swallowed silently."""

from __future__ import annotations

import re
from pathlib import Path

JS = Path(__file__).resolve().parents[1] / "static" / "js"
COMMENTS = r"(?:\s*(?:/\*.*?\*/|//[^\n]*))*\s*"
# `catch {}`, `catch (e) { /* nothing */ }` and `.catch(() => {})`, `.catch((e) => { // ... })`.
EMPTY_CATCH = re.compile(
    rf"catch\s*(?:\(\s*\w*\s*\))?\s*\{{{COMMENTS}\}}"
    rf"|\.catch\(\s*(?:\(\s*\w*\s*\)|\w+)\s*=>\s*\{{{COMMENTS}\}}\s*\)",
    re.S,
)


def sources() -> dict[str, str]:
    """Every module of static/js by file name."""
    return {path.name: path.read_text(encoding="utf-8") for path in JS.glob("*.js")}


def modules_with(pattern: str) -> list[str]:
    """The modules whose text matches `pattern`."""
    return sorted(name for name, text in sources().items() if re.search(pattern, text))


def test_the_element_shorthand_is_written_once() -> None:
    """`$` (the element by id) is defined in dom.js alone; every page imports it from there."""
    assert modules_with(r"=\s*\(id\)\s*=>\s*document\.getElementById\(id\)") == ["dom.js"]
    assert len(modules_with(r"import \{ \$ \} from './dom\.js'")) >= 9


def test_changes_are_retried_with_one_key_in_one_place() -> None:
    """Only api.js's `changeOnce` sends an Idempotency-Key and retries with it; the pages
    that make a change once (the officer's request, the console's accept) call it."""
    assert modules_with(r"'Idempotency-Key'") == ["api.js"]
    assert {"console.js", "officer.js"} <= set(modules_with(r"\bchangeOnce\("))


def test_tones_are_made_in_one_module() -> None:
    """WebAudio (the context, the oscillators) is used by tone.js alone: the officer's chime,
    the console's alert and its transfer offers play their tones through it."""
    assert modules_with(r"AudioContext|createOscillator") == ["tone.js"]
    assert modules_with(r"from './tone\.js'") == ["alert.js", "chime.js", "transfer-offer.js"]


def test_no_failure_is_swallowed_silently() -> None:
    """No module has an empty catch block or an empty `.catch` handler: a failure is shown,
    logged or answered with a stated fallback."""
    found = {
        name: [match.group(0) for match in EMPTY_CATCH.finditer(text)]
        for name, text in sources().items()
    }
    assert {name: empty for name, empty in found.items() if empty} == {}
