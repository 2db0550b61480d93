"""What every part of the store shares: the typed client, the key names, and the casts
that say what a `decode_responses=True` client answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any, TypeAlias, cast

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from triage_service.store.keys import Keys

# redis-py's hints type every answer `bytes | str`; the store's client always answers str
# (`connect` sets decode_responses=True), which these casts say once.
Client: TypeAlias = "aioredis.Redis"


def entry(values: Mapping[str, str | int]) -> dict[FieldT, EncodableT]:
    """Hash fields or a stream entry as redis-py's hints want them."""
    return {name: value for name, value in values.items()}


# Runs a Lua script of the store: (name, now_ms, *args) -> its parsed result.
Run: TypeAlias = Callable[..., Awaitable[dict[str, Any]]]


class Refused(Exception):
    """A lifecycle script refused the change; `code` says why, `status` is the current state."""

    def __init__(self, code: str, status: str | None = None) -> None:
        super().__init__(f"{code} (status {status})" if status else code)
        self.code = code
        self.status = status


def lua_source(name: str) -> str:
    """The text of the script `lua/{name}.lua` (for parts with scripts of their own, which
    take their keys as KEYS rather than the lifecycle scripts' prelude)."""
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text()


class Part:
    """One concern's Redis commands, sharing the store's client and key names."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self.client = client
        self.keys = keys


def text(answer: object) -> str:
    """A string answer."""
    return cast(str, answer)


def maybe_text(answer: object) -> str | None:
    """A string answer, or None when the key or field is absent."""
    return cast("str | None", answer)


def texts(answer: object) -> list[str]:
    """A list of strings (members, list items, hash values)."""
    return cast("list[str]", answer)


def fields(answer: object) -> dict[str, str]:
    """A hash (empty when absent)."""
    return cast("dict[str, str]", answer)


def scored(answer: object) -> list[tuple[str, float]]:
    """Sorted-set members with their scores."""
    return cast("list[tuple[str, float]]", answer)
