"""Second factors of local accounts: a TOTP secret (pending until confirmed) with the last
time step used, hashed recovery codes, passkeys, and the short-lived enrolment tokens and
WebAuthn ceremonies."""

from __future__ import annotations

from collections.abc import Sequence

from triage_service.store.base import Client, Part, fields, lua_source, maybe_text
from triage_service.store.keys import Keys


class Factors(Part):
    """TOTP, recovery codes and passkeys per user."""

    def __init__(self, client: Client, keys: Keys) -> None:
        super().__init__(client, keys)
        self._confirm = client.register_script(lua_source("mfa_confirm"))
        self._step = client.register_script(lua_source("mfa_step"))
        self._reset = client.register_script(lua_source("mfa_reset"))
        self._add_passkey = client.register_script(lua_source("passkey_add"))

    async def totp(self, user_id: str) -> dict[str, str]:
        """The user's TOTP fields: `totp_secret`, `totp_pending`, `totp_step` (if any)."""
        return fields(await self.client.hgetall(self.keys.mfa(user_id)))

    async def begin_totp(self, user_id: str, secret: str) -> None:
        """A new pending secret (replacing any earlier pending one) until it is confirmed."""
        await self.client.hset(self.keys.mfa(user_id), "totp_pending", secret)

    async def confirm_totp(
        self, user_id: str, secret: str, *, step: int, now_ms: int, recovery_hashes: Sequence[str]
    ) -> bool:
        """Make the pending `secret` the user's, with new recovery codes (one atomic step);
        False if enrolment was started again meanwhile."""
        done = await self._confirm(
            keys=[self.keys.mfa(user_id), self.keys.mfa_recovery(user_id)],
            args=[secret, step, now_ms, *recovery_hashes],
        )
        return bool(done)

    async def use_step(self, user_id: str, secret: str, step: int) -> bool:
        """Use a TOTP time step; False if it or a later one was used already."""
        return bool(await self._step(keys=[self.keys.mfa(user_id)], args=[secret, step]))

    async def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Use up a recovery code (SREM: each works once); False if it is not one."""
        return bool(await self.client.srem(self.keys.mfa_recovery(user_id), code_hash))

    async def recovery_codes_left(self, user_id: str) -> int:
        """How many unused recovery codes the user has."""
        return int(await self.client.scard(self.keys.mfa_recovery(user_id)))

    async def add_passkey(self, user_id: str, credential_id: str, passkey_json: str) -> bool:
        """Register a passkey (one atomic step: the owner index and the user's list); False
        if this credential id is registered already."""
        added = await self._add_passkey(
            keys=[self.keys.passkey_owners, self.keys.passkeys(user_id)],
            args=[credential_id, user_id, passkey_json],
        )
        return bool(added)

    async def passkeys(self, user_id: str) -> dict[str, str]:
        """The user's passkeys: credential id -> JSON."""
        return fields(await self.client.hgetall(self.keys.passkeys(user_id)))

    async def passkey_owner(self, credential_id: str) -> str | None:
        """The user a passkey belongs to, if it is registered."""
        return maybe_text(await self.client.hget(self.keys.passkey_owners, credential_id))

    async def update_passkey(self, user_id: str, credential_id: str, passkey_json: str) -> None:
        """Keep a passkey's new signature counter and last use (if it is still registered)."""
        key = self.keys.passkeys(user_id)
        if await self.client.hexists(key, credential_id):
            await self.client.hset(key, credential_id, passkey_json)

    async def reset(self, user_id: str) -> int:
        """Remove every second factor of the user (one atomic step); how many passkeys went."""
        keys = self.keys
        return int(
            await self._reset(
                keys=[
                    keys.mfa(user_id),
                    keys.mfa_recovery(user_id),
                    keys.passkeys(user_id),
                    keys.passkey_owners,
                ],
                args=[],
            )
        )

    async def issue_enrolment(self, token: str, user_id: str, *, ttl_s: int) -> None:
        """An enrolment token: lets its holder enrol a second factor for `user_id` only."""
        await self.client.set(self.keys.mfa_enrolment(token), user_id, ex=ttl_s)

    async def enrolment_user(self, token: str) -> str | None:
        """The user an enrolment token is for, while it lasts."""
        return maybe_text(await self.client.get(self.keys.mfa_enrolment(token)))

    async def end_enrolment(self, token: str) -> None:
        """The enrolment is done: its token is spent."""
        await self.client.delete(self.keys.mfa_enrolment(token))

    async def begin_ceremony(self, ceremony_id: str, ceremony_json: str, *, ttl_s: int) -> None:
        """Keep a WebAuthn challenge until its answer comes back."""
        await self.client.set(self.keys.webauthn_challenge(ceremony_id), ceremony_json, ex=ttl_s)

    async def take_ceremony(self, ceremony_id: str) -> str | None:
        """The ceremony with this id, removed (GETDEL): each challenge is answered once."""
        return maybe_text(await self.client.getdel(self.keys.webauthn_challenge(ceremony_id)))
