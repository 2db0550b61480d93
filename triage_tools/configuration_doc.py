"""The table of every setting in docs/configuration.md, written from the `Settings` dataclass.

Each row is one field of `triage_service.settings.Settings`: its `TRIAGE_*` variable, its
flag, its default and its help text, exactly as `triage-service serve --help` gives them.
The table sits between two markers; the prose around it is written by hand.

    scripts/configuration-doc           # rewrite the table in docs/configuration.md
    scripts/configuration-doc --check   # exit 1, saying so, if the table is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage_service.settings import Settings
from triage_service.settings_values import env_name, flag_name

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN = "<!-- every setting, written by scripts/configuration-doc from the Settings fields -->"
END = "<!-- end of the settings written from the Settings fields -->"


def flags(f: dataclasses.Field[Any]) -> str:
    """The flag of a setting; an on-by-default switch also has its `--no-` form."""
    if f.type == "bool" and f.default:
        return f"`{flag_name(f)}`, `--no-{flag_name(f)[2:]}`"
    return f"`{flag_name(f)}`"


def default(f: dataclasses.Field[Any]) -> str:
    """A setting's default as the table shows it."""
    if f.default is None:
        return "unset"
    if isinstance(f.default, bool):
        return "on" if f.default else "off"
    return f"`{f.default}`"


def cell(text: str) -> str:
    """`text` safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def settings_table() -> str:
    """The Markdown table of every setting, in the order Settings declares them."""
    rows = [
        f"| `{env_name(f)}` | {flags(f)} | {cell(default(f))} | {cell(f.metadata['help'])} |"
        for f in dataclasses.fields(Settings)
    ]
    return "\n".join(["| variable | flag | default | meaning |", "|---|---|---|---|", *rows])


def with_table(document: str) -> str:
    """`document` with the text between its two markers replaced by the current table."""
    head, found, rest = document.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not found or not ended:
        raise ValueError(f"the document has no {BEGIN!r} ... {END!r} markers")
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> None:
    """Rewrite the table in docs/configuration.md, or with --check say whether it is current."""
    parser = argparse.ArgumentParser(prog="scripts/configuration-doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    checking = parser.parse_args(argv).check
    document = DOCUMENT.read_text(encoding="utf-8")
    current = with_table(document)
    if checking and current != document:
        sys.exit(f"{DOCUMENT} is out of date: run scripts/configuration-doc")
    if not checking:
        DOCUMENT.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
