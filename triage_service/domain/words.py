"""Numbers in words shown to people: "1 second", "2 seconds"."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` with its noun in the right number (the plural is `singular` + "s" unless given)."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"
