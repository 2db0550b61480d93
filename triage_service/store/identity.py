"""Sign-in through identity providers: sign-ins under way (by `state`, single use), the
link from a provider's (issuer, subject) to an account, and the provider session behind a
sign-in session (for signing out there too)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from triage_service.store.base import Client, Part, lua_source, maybe_text, texts
from triage_service.store.keys import Keys


@dataclass(frozen=True, slots=True)
class Linked:
    """What linking a provider's subject to an account did: `existing`, `created`,
    `unknown` (no account and none may be created) or `taken` (no free username)."""

    outcome: str
    user_id: str | None = None


class Identities(Part):
    """OpenID Connect flows, subject links and provider sessions."""

    def __init__(self, client: Client, keys: Keys) -> None:
        super().__init__(client, keys)
        self._account = client.register_script(lua_source("oidc_account"))

    async def begin_flow(self, state: str, flow: Mapping[str, str], *, ttl_s: int) -> None:
        """Keep a sign-in under way (nonce, PKCE verifier, ...) until its callback."""
        await self.client.set(self.keys.oidc_flow(state), json.dumps(flow), ex=ttl_s)

    async def take_flow(self, state: str) -> dict[str, str] | None:
        """The sign-in under way with this `state`, removed in the same command (GETDEL): a
        callback can be answered once only."""
        raw = maybe_text(await self.client.getdel(self.keys.oidc_flow(state)))
        return dict(json.loads(raw)) if raw else None

    async def account_for(
        self,
        subject: str,
        *,
        new_id: str,
        usernames: tuple[str, str],
        account: Mapping[str, str | int],
        create: bool,
    ) -> Linked:
        """The account linked to `subject` (`{issuer} {sub}`), or a new one linked to it
        under the first free of `usernames` when `create` (one atomic step)."""
        first, second = usernames
        found = texts(
            await self._account(
                keys=[self.keys.oidc_subjects, self.keys.users, self.keys.user(new_id)],
                args=[
                    subject,
                    new_id,
                    first.lower(),
                    second.lower(),
                    json.dumps(dict(account)),
                    "1" if create else "0",
                    first,
                    second,
                ],
            )
        )
        return Linked(found[0], found[1] if len(found) > 1 else None)

    async def owner_of(self, subject: str) -> str | None:
        """The id of the account linked to `subject`, if any."""
        return maybe_text(await self.client.hget(self.keys.oidc_subjects, subject))

    async def remember_session(self, token: str, provider_session: str, *, ttl_s: int) -> None:
        """Note which provider (and ID token) a sign-in session came from."""
        await self.client.set(self.keys.oidc_session(token), provider_session, ex=ttl_s)

    async def forget_session(self, token: str) -> str | None:
        """What `remember_session` noted for this session, removed (GETDEL)."""
        return maybe_text(await self.client.getdel(self.keys.oidc_session(token)))
