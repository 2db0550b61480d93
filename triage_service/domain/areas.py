"""The area directory: health boards (with their time zone) and the areas officers work in,
each with its own phone fallback. Read from a TOML file (`TRIAGE_AREAS_FILE`), validated
here; without a file, one default board and area."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triage_service.domain.codes import ReferralService
from triage_service.domain.costs import BoardCosts, CostsEntry, board_costs
from triage_service.domain.errors import Invalid
from triage_service.domain.models import PhoneNumber

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
DEFAULT_ID = "default"
DEFAULT_EMERGENCY_NUMBER = "999"
EARTH_RADIUS_KM = 6371.0


class AreaFileError(ValueError):
    """The areas file cannot be read or breaks a rule; the message is one line."""


class _AreaEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Slug
    name: str = Field(min_length=1, max_length=64)
    phone_fallback: str = Field(min_length=1, max_length=32)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    population: int | None = Field(default=None, ge=1)  # the board report's rates per 100,000


class _TeamEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    phone: PhoneNumber


class _BoardEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    timezone: str | None = None
    emergency_number: str = Field(default=DEFAULT_EMERGENCY_NUMBER, pattern=r"^[0-9]{2,16}$")
    teams: dict[ReferralService, _TeamEntry] = Field(default_factory=dict)
    areas: list[_AreaEntry] = Field(min_length=1)
    costs: CostsEntry | None = None  # the board report's unit costs (domain/costs.py)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            check_timezone(value)
        return value


class _AreaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    boards: dict[Slug, _BoardEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Area:
    """One area: where an officer is, the board that serves it and its phone line."""

    id: str
    name: str
    board: str
    phone_fallback: str
    lat: float | None = None
    lon: float | None = None
    population: int | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """A receiving team of a board, as the areas file names it: who to phone."""

    service: str
    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Board:
    """A health board: its name, time zone, areas, the number that calls its emergency
    services, and the phones of its receiving teams."""

    id: str
    name: str
    timezone: str
    areas: tuple[Area, ...]
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER
    teams: tuple[Team, ...] = ()
    costs: BoardCosts = field(default_factory=BoardCosts)

    @property
    def zone(self) -> ZoneInfo:
        """The board's time zone."""
        return ZoneInfo(self.timezone)

    def team(self, service: str) -> Team | None:
        """The board's team for a referral service, if the areas file names one."""
        return next((t for t in self.teams if t.service == service), None)


class AreaDirectory:
    """Every board and area, looked up by id."""

    def __init__(self, boards: tuple[Board, ...]) -> None:
        self.boards = boards
        self._boards = {b.id: b for b in boards}
        self._areas = {a.id: a for b in boards for a in b.areas}

    def board(self, board_id: str) -> Board | None:
        """The board with this id, if any."""
        return self._boards.get(board_id)

    def area(self, area_id: str) -> Area | None:
        """The area with this id, if any."""
        return self._areas.get(area_id)

    def board_of(self, board_id: str | None) -> Board:
        """The board with this id; the first board when there is none (a request whose place
        matched no area)."""
        return self._boards.get(board_id or "") or self.boards[0]

    def emergency_number(self, board_id: str | None) -> str:
        """The number an officer in this board calls for emergency services."""
        return self.board_of(board_id).emergency_number

    @property
    def board_ids(self) -> tuple[str, ...]:
        """Every board's id, in file order."""
        return tuple(self._boards)

    def match(self, free_text: str | None) -> Area | None:
        """The area a free-text place names (its id or name, any case); the only area when
        there is one."""
        if len(self._areas) == 1:
            return next(iter(self._areas.values()))
        wanted = (free_text or "").strip().casefold()
        for area in self._areas.values():
            if wanted in (area.id, area.name.casefold()):
                return area
        return None

    def resolve(self, area_id: str | None, free_text: str | None) -> Area | None:
        """The area a request form names: its `area_id` (422 `unknown_area` if not in the
        directory), else the area its free text matches, if any."""
        if area_id is None:
            return self.match(free_text)
        area = self.area(area_id)
        if area is None:
            raise Invalid(
                "unknown_area",
                f"There is no area {area_id!r}; choose one from the list.",
                {"location.area_id": "not an area of this service"},
            )
        return area

    def nearest(self, lat: float, lon: float) -> Area | None:
        """The area whose coordinates are nearest (great-circle), if any has coordinates."""
        placed = [
            (distance_km(lat, lon, a.lat, a.lon), a)
            for a in self._areas.values()
            if a.lat is not None and a.lon is not None
        ]
        return min(placed, key=lambda found: found[0], default=(0.0, None))[1]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def default_directory(timezone: str, phone_fallback: str) -> AreaDirectory:
    """One board and one area, for a deployment without an areas file."""
    area = Area(DEFAULT_ID, "Default area", DEFAULT_ID, phone_fallback)
    return AreaDirectory((Board(DEFAULT_ID, "Default board", timezone, (area,)),))


def parse_directory(text: str, *, default_timezone: str) -> AreaDirectory:
    """The directory in TOML `text`; `AreaFileError` with one line naming the problem."""
    try:
        parsed = _AreaFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise AreaFileError(f"not valid TOML: {e}") from e
    except ValidationError as e:
        raise AreaFileError(_first_problem(e)) from e
    boards, seen = [], set[str]()
    for board_id, entry in parsed.boards.items():
        areas = tuple(
            Area(a.id, a.name, board_id, a.phone_fallback, a.lat, a.lon, population=a.population)
            for a in entry.areas
        )
        for area in areas:
            if area.id in seen:
                raise AreaFileError(f"boards.{board_id}.areas: area id {area.id!r} is repeated")
            seen.add(area.id)
        teams = tuple(Team(s.value, t.name, t.phone) for s, t in entry.teams.items())
        zone = entry.timezone or default_timezone
        boards.append(
            Board(
                board_id,
                entry.name,
                zone,
                areas,
                emergency_number=entry.emergency_number,
                teams=teams,
                costs=board_costs(entry.costs),
            )
        )
    return AreaDirectory(tuple(boards))


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    more = error.error_count() - 1
    return f"{where}: {first['msg']}" + (f" (and {more} more)" if more else "")
