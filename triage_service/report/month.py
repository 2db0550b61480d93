"""A report month: a board's local calendar month (`YYYY-MM`), as a span of epoch
milliseconds that follows the zone's daylight-saving changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from triage_service.domain.errors import Invalid

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
TREND_MONTHS = 12


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """One calendar month."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def plus(self, months: int) -> Month:
        """The month `months` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def span_ms(self, zone: ZoneInfo) -> tuple[int, int]:
        """[local midnight on the 1st, local midnight on the 1st of the next month), in UTC
        epoch milliseconds."""
        after = self.plus(1)
        return _local_ms(self, zone), _local_ms(after, zone)

    def label(self) -> str:
        """The month in words, e.g. "March 2026"."""
        return datetime(self.year, self.month, 1).strftime("%B %Y")

    def trend(self) -> list[Month]:
        """The 12 months ending with this one, oldest first."""
        return [self.plus(n) for n in range(1 - TREND_MONTHS, 1)]


def _local_ms(month: Month, zone: ZoneInfo) -> int:
    return int(datetime(month.year, month.month, 1, tzinfo=zone).timestamp() * 1000)


def parse_month(text: str, *, field: str = "month") -> Month:
    """`YYYY-MM` (years 2000 to 2999, months 01 to 12); 422 naming `field` otherwise."""
    found = MONTH_PATTERN.match(text.strip())
    if found is None or not 2000 <= int(found[1]) <= 2999 or not 1 <= int(found[2]) <= 12:
        raise Invalid(
            "validation_error",
            f"{field} must be a month written YYYY-MM, e.g. 2026-03.",
            {field: "must be YYYY-MM, a month from 2000-01 to 2999-12"},
        )
    return Month(int(found[1]), int(found[2]))


def month_of(ms: int, zone: ZoneInfo) -> Month:
    """The local month holding the instant `ms`."""
    local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    return Month(local.year, local.month)


def last_month(now_ms: int, zone: ZoneInfo) -> Month:
    """The last whole local month before now: the one a board meeting reads."""
    return month_of(now_ms, zone).plus(-1)
