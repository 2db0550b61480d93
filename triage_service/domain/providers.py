"""OpenID Connect providers (a health board's, a police force's) as the TOML file
`TRIAGE_OIDC_FILE` lists them, and who a person is here from the claims a provider vouches
for: their role, boards and team. No I/O here."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triage_service.domain.codes import Role
from triage_service.domain.teams import parse_team

PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ClaimName = Annotated[str, Field(min_length=1, max_length=64)]
DEFAULT_SCOPES = ("openid", "profile", "email")


class ProviderFileError(ValueError):
    """The providers file cannot be read or breaks a rule; the message is one line."""


class ClaimsRefused(ValueError):
    """The provider vouched for someone this service cannot place (no role, no board)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _ProviderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(pattern=r"^https?://[^\s?#]+$")
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: str | None = Field(default=None, min_length=1)
    private_key_file: str | None = Field(default=None, min_length=1)
    name: str = Field(min_length=1, max_length=64)
    scopes: list[Annotated[str, Field(pattern=r"^[!#-\[\]-~]+$")]] = list(DEFAULT_SCOPES)
    role_claim: ClaimName | None = None
    roles: dict[str, Role] = {}
    role: Role | None = None
    boards_claim: ClaimName | None = None
    boards: list[str] | None = None
    team_claim: ClaimName | None = None
    team: str | None = None
    username_claim: ClaimName = "preferred_username"
    create_accounts: bool = False

    @model_validator(mode="after")
    def _one_of_each(self) -> _ProviderEntry:
        if (self.client_secret is None) == (self.private_key_file is None):
            raise ValueError("give client_secret or private_key_file (one of them)")
        if self.role_claim and not self.roles:
            raise ValueError("role_claim needs a roles table (claim value = role)")
        for claim, fixed in (
            ("role_claim", "role"),
            ("boards_claim", "boards"),
            ("team_claim", "team"),
        ):
            if getattr(self, claim) is not None and getattr(self, fixed) is not None:
                raise ValueError(f"give {claim} or {fixed}, not both")
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        return self


@dataclass(frozen=True, slots=True)
class Provider:
    """One identity provider this service trusts, and how its claims map to people here."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str | None
    private_key_file: str | None
    scopes: tuple[str, ...]
    role_claim: str | None
    roles: Mapping[str, Role]
    role: Role | None
    boards_claim: str | None
    boards: tuple[str, ...] | None
    team_claim: str | None
    team: str | None
    username_claim: str
    create_accounts: bool


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says someone is, in this service's terms."""

    subject: str
    username: str
    display_name: str
    role: Role | None  # None: the provider says nothing; a provisioned account keeps its own
    boards: tuple[str, ...] | None  # None: likewise
    team: str | None


def parse_providers(text: str, *, board_ids: Iterable[str]) -> dict[str, Provider]:
    """The providers in TOML `text` (one table per provider, its name the id used in URLs);
    `ProviderFileError` with one line naming the problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProviderFileError(f"not valid TOML: {e}") from e
    known = tuple(board_ids)
    providers = {}
    for provider_id, table in raw.items():
        providers[provider_id] = _provider(provider_id, table, known)
    if not providers:
        raise ProviderFileError("no provider: give one table per provider")
    return providers


def _provider(provider_id: str, table: Any, known_boards: tuple[str, ...]) -> Provider:
    if not PROVIDER_ID.fullmatch(provider_id):
        raise ProviderFileError(
            f"{provider_id!r}: a provider's table name is its id in URLs: a-z, 0-9, _ and -"
        )
    try:
        entry = _ProviderEntry.model_validate(table)
    except ValidationError as e:
        raise ProviderFileError(f"{provider_id}: {_first_problem(e)}") from e
    unknown = [b for b in entry.boards or () if b not in known_boards]
    if unknown:
        raise ProviderFileError(f"{provider_id}.boards: unknown board {unknown[0]!r}")
    try:
        team = parse_team(entry.team, known_boards) if entry.team else None
    except ValueError as e:
        raise ProviderFileError(f"{provider_id}.team: {e}") from e
    return Provider(
        id=provider_id,
        name=entry.name,
        issuer=entry.issuer,
        client_id=entry.client_id,
        client_secret=entry.client_secret,
        private_key_file=entry.private_key_file,
        scopes=tuple(dict.fromkeys(entry.scopes)),
        role_claim=entry.role_claim,
        roles=dict(entry.roles),
        role=entry.role,
        boards_claim=entry.boards_claim,
        boards=tuple(entry.boards) if entry.boards is not None else None,
        team_claim=entry.team_claim,
        team=team,
        username_claim=entry.username_claim,
        create_accounts=entry.create_accounts,
    )


def identity_from_claims(
    provider: Provider, claims: Mapping[str, Any], *, board_ids: Iterable[str]
) -> Identity:
    """Who `claims` (from a checked ID token) describe here; `ClaimsRefused` when the claims
    name no role the provider maps, no known board, or no valid team."""
    subject = str(claims["sub"])
    username = _first_text(claims, provider.username_claim, "preferred_username", "email")
    return Identity(
        subject=subject,
        username="".join((username or subject).split())[:64],
        display_name=(_first_text(claims, "name") or username or subject)[:80],
        role=_role(provider, claims),
        boards=_boards(provider, claims, tuple(board_ids)),
        team=_team(provider, claims, tuple(board_ids)),
    )


def _role(provider: Provider, claims: Mapping[str, Any]) -> Role | None:
    """The role the claim's values map to (the first in the `roles` table's order wins)."""
    if provider.role_claim is None:
        return provider.role
    values = set(_values(claims.get(provider.role_claim)))
    for value, role in provider.roles.items():
        if value in values:
            return role
    raise ClaimsRefused(
        "no_role", f"{provider.name} names no role of this service for you; ask your manager."
    )


def _boards(
    provider: Provider, claims: Mapping[str, Any], known: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The boards the claim names (unknown ones ignored). Fails closed: an absent claim, or
    one naming no board of this service, refuses rather than meaning every board."""
    if provider.boards_claim is None:
        return provider.boards
    found = tuple(
        dict.fromkeys(b for b in _values(claims.get(provider.boards_claim)) if b in known)
    )
    if not found:
        raise ClaimsRefused(
            "no_board", f"{provider.name} names no health board of this service for you."
        )
    return found


def _team(provider: Provider, claims: Mapping[str, Any], known: tuple[str, ...]) -> str | None:
    if provider.team_claim is None:
        return provider.team
    values = _values(claims.get(provider.team_claim))
    try:
        return parse_team(values[0], known) if values else None
    except ValueError as e:
        raise ClaimsRefused("no_team", f"{provider.name} names no team of this service.") from e


def _values(claim: Any) -> list[str]:
    """A claim as a list of strings: a list, one string, or a space- or comma-separated one."""
    if isinstance(claim, list):
        return [str(v) for v in claim if isinstance(v, str | int)]
    if isinstance(claim, str):
        return [v for v in claim.replace(",", " ").split() if v]
    return []


def _first_text(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value.strip() and value.isprintable():
            return value.strip()
    return None


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    more = error.error_count() - 1
    text = f"{where}: {first['msg']}" if where else first["msg"]
    return text + (f" (and {more} more)" if more else "")
