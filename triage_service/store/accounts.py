"""User accounts: the username index and one hash per account."""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.store.base import Part, entry, fields, maybe_text


class Accounts(Part):
    """The `users` index (lower-cased username -> id) and the account hashes."""

    async def claim_username(self, username: str, user_id: str) -> bool:
        """Index `username` (lower-cased) to `user_id`; False if it is taken."""
        return bool(await self.client.hsetnx(self.keys.users, username.lower(), user_id))

    async def save(self, user_id: str, account: Mapping[str, str | int]) -> None:
        """Write an account's fields."""
        await self.client.hset(self.keys.user(user_id), mapping=entry(account))

    async def load(self, user_id: str) -> dict[str, str]:
        """An account's fields (empty if there is none)."""
        return fields(await self.client.hgetall(self.keys.user(user_id)))

    async def id_of(self, username: str) -> str | None:
        """The id of the account named `username` (any case), if any."""
        return maybe_text(await self.client.hget(self.keys.users, username.lower()))

    async def count(self) -> int:
        """How many accounts exist."""
        return int(await self.client.hlen(self.keys.users))
