"""The suite's own lists of modules (the slow tier, the browser call group, the modules set up
once) name modules that exist: a renamed module would silently leave its list."""

from __future__ import annotations

from conftest import BROWSER_CALLS, SET_UP_ONCE, SLOW_FILES, TESTS


def test_every_module_the_lists_name_exists() -> None:
    missing = [name for name in BROWSER_CALLS if not (TESTS / "browser" / name).is_file()]
    missing += [name for name in SET_UP_ONCE | SLOW_FILES if not (TESTS / name).is_file()]
    assert not missing
