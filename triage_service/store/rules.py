"""Domain rules the Lua scripts apply, rendered into them from the one Python source.

`lua/_outcome_counts.lua` classifies a filed outcome with the sets of domain/codes.py: the
detentions and what counts as a conveyance avoided. Rather than a copy in Lua, the scripts
include the generated piece `_rules`, written here from those sets when a script is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage_service.domain.codes import (
    CONVEYANCE_NOT_AVOIDED,
    CONVEYED_TO_HOSPITAL,
    DETENTION_DISPOSITIONS,
)


def _set(values: Iterable[str]) -> str:
    """A Lua set table of `values` (each a code: letters, digits and underscores)."""
    return "{" + ", ".join(f"{value} = true" for value in sorted(values)) + "}"


def lua_rules() -> str:
    """The `_rules` piece: the sets and the conveyance-avoided test as Lua."""
    return "\n".join(
        [
            "-- Rendered from domain/codes.py by store/rules.py: do not copy these rules.",
            f"local DETENTIONS = {_set(DETENTION_DISPOSITIONS)}",
            f"local CONVEYANCE_NOT_AVOIDED = {_set(CONVEYANCE_NOT_AVOIDED)}",
            f"local CONVEYED_TO_HOSPITAL = {_set(CONVEYED_TO_HOSPITAL)}",
            "local function conveyance_avoided(disposition, conveyance)",
            "  return not CONVEYANCE_NOT_AVOIDED[disposition]"
            " and not CONVEYED_TO_HOSPITAL[conveyance]",
            "end",
            "",
        ]
    )


# Shared pieces written from Python rather than kept in lua/, by name.
GENERATED = {"_rules": lua_rules}
