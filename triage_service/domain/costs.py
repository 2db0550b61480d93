"""A health board's unit costs and pathway times for the board report, read from the areas
file (`[boards.B.costs]`). Every value left out takes a default that is an assumption, not a
measured local figure: the report shows which values are assumed (docs/report.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from pydantic import BaseModel, ConfigDict, Field

# Round figures of the order UK unit-cost tables give; a board replaces them with its own.
DEFAULT_COSTS: dict[str, float] = {
    "officer_hour": 45.0,  # GBP: one police officer's hour, fully loaded
    "ed_attendance": 200.0,  # GBP: one emergency department attendance
    "s297_detention": 1000.0,  # GBP: one s297 removal to a place of safety and its examination
    "ambulance_conveyance": 300.0,  # GBP: one ambulance conveyance (see and convey)
    "s297_hours": 4.0,  # police hours an s297 removal takes (DOMAIN.md)
    "ed_hours": 3.5,  # police hours a conveyance to an emergency department takes (DOMAIN.md)
}


class CostsEntry(BaseModel):
    """`[boards.B.costs]` as written in the areas file: any of the values, none negative."""

    model_config = ConfigDict(extra="forbid")

    officer_hour: float | None = Field(default=None, ge=0)
    ed_attendance: float | None = Field(default=None, ge=0)
    s297_detention: float | None = Field(default=None, ge=0)
    ambulance_conveyance: float | None = Field(default=None, ge=0)
    s297_hours: float | None = Field(default=None, ge=0, le=72)
    ed_hours: float | None = Field(default=None, ge=0, le=72)


@dataclass(frozen=True, slots=True)
class BoardCosts:
    """The values the report's estimates use (GBP and police hours), and which of them are
    the documented defaults rather than the board's own figures."""

    officer_hour: float = DEFAULT_COSTS["officer_hour"]
    ed_attendance: float = DEFAULT_COSTS["ed_attendance"]
    s297_detention: float = DEFAULT_COSTS["s297_detention"]
    ambulance_conveyance: float = DEFAULT_COSTS["ambulance_conveyance"]
    s297_hours: float = DEFAULT_COSTS["s297_hours"]
    ed_hours: float = DEFAULT_COSTS["ed_hours"]
    defaulted: frozenset[str] = frozenset(DEFAULT_COSTS)

    def values(self) -> dict[str, float]:
        """Every value by name, in the file's order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in DEFAULT_COSTS}


def board_costs(entry: CostsEntry | None) -> BoardCosts:
    """The board's costs: its own values where the file gives them, the defaults elsewhere."""
    given = {k: v for k, v in (entry.model_dump() if entry else {}).items() if v is not None}
    return BoardCosts(**given, defaulted=frozenset(DEFAULT_COSTS) - set(given))
