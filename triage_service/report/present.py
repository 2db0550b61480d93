"""How the printed report shows its figures: small counts suppressed, hours, money, shares."""

from __future__ import annotations

from triage_service.domain.codes import AgeBand

SMALL = "<5"
NONE = "\u2013"  # an en dash: no figure
AGE_LABELS = {
    AgeBand.UNDER_16.value: "under 16",
    AgeBand.AGE_16_17.value: "16-17",
    AgeBand.AGE_18_25.value: "18-25",
    AgeBand.AGE_26_40.value: "26-40",
    AgeBand.AGE_41_64.value: "41-64",
    AgeBand.AGE_65_PLUS.value: "65 and over",
    AgeBand.UNKNOWN.value: "not known",
}


def shown(n: int) -> str:
    """A count as printed: 1 to 4 as "<5" (disclosure control), else with separators."""
    return SMALL if 0 < n < 5 else f"{n:,}"


def share(part: float | None, base: int, *, unit: str = " %") -> str:
    """A percentage (or a mean) as printed; "n<5" when it rests on 1 to 4 cases, a dash when
    on none."""
    if base == 0 or part is None:
        return NONE
    if base < 5:
        return "n<5"
    return f"{part:g}{unit}"


def hours(value: float | None) -> str:
    """Hours to one decimal."""
    return NONE if value is None else f"{value:,.1f} h"


def money(value: float) -> str:
    """Pounds, whole."""
    return f"£{value:,.0f}"


def minutes(seconds: float | None) -> str:
    """Seconds as minutes and seconds."""
    if seconds is None:
        return NONE
    whole = int(seconds)
    return f"{whole // 60} min {whole % 60:02d} s"
