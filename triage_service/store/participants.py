"""The people in a call beyond its officer and clinician: consultants and guests, the guest
links (only a token's hash is kept) and the guest pages' sign-ins."""

from __future__ import annotations

import json
from typing import Any

from triage_service.store.base import Client, Part, entry, fields, maybe_text, texts
from triage_service.store.keys import Keys

DAY_MS = 24 * 3600 * 1000
# Add a person unless the call is full: KEYS people, history; ARGV id, JSON, limit.
# Answers 1 when added (or already in), 0 when full.
ADD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
   and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


def _parsed(raw: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {key: json.loads(value) for key, value in raw.items()}


class Participants(Part):
    """`call:{id}:people`, `call:{id}:history`, `consults:{user}`, `guest:*`."""

    def __init__(self, client: Client, keys: Keys) -> None:
        super().__init__(client, keys)
        self._add = client.register_script(ADD)

    async def present(self, request_id: str) -> dict[str, dict[str, Any]]:
        """The consultants and guests in the call now, by participant id."""
        return _parsed(fields(await self.client.hgetall(self.keys.call_people(request_id))))

    async def present_ids(self, request_ids: list[str]) -> dict[str, list[str]]:
        """Who else is in each of these calls now (participant ids), in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hkeys(self.keys.call_people(request_id))
            found = await pipe.execute()
        return {rid: texts(ids) for rid, ids in zip(request_ids, found, strict=True)}

    async def history(self, request_id: str) -> dict[str, dict[str, Any]]:
        """Everyone ever added to the call, by participant id."""
        return _parsed(fields(await self.client.hgetall(self.keys.call_history(request_id))))

    async def add(self, request_id: str, person: dict[str, Any], *, limit: int) -> bool:
        """Put `person` in the call (and its history) unless `limit` others are in already."""
        keys = [self.keys.call_people(request_id), self.keys.call_history(request_id)]
        added = await self._add(keys=keys, args=[person["id"], json.dumps(person), limit])
        return bool(int(added))

    async def remove(self, request_id: str, person_id: str) -> bool:
        """Take a person out of the call; whether they were in it."""
        return bool(await self.client.hdel(self.keys.call_people(request_id), person_id))

    async def note_history(self, request_id: str, person: dict[str, Any]) -> None:
        """Update what the record keeps about a person (e.g. when a guest left)."""
        await self.client.hset(self.keys.call_history(request_id), person["id"], json.dumps(person))

    async def offer(self, clinician_id: str, request_id: str) -> None:
        """Remember that a clinician is asked to join a request's call."""
        await self.client.sadd(self.keys.consult_offers(clinician_id), request_id)

    async def withdraw(self, clinician_id: str, request_id: str) -> None:
        """Forget a consult offer."""
        await self.client.srem(self.keys.consult_offers(clinician_id), request_id)

    async def offers(self, clinician_id: str) -> list[str]:
        """The requests a clinician is asked to join."""
        return sorted(texts(await self.client.smembers(self.keys.consult_offers(clinician_id))))

    async def save_guest(self, guest: dict[str, str], token_hash: str, ttl_ms: int) -> None:
        """Keep a new guest link: its record and its token's hash, which lapses by itself."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.guest(guest["id"]), mapping=entry(guest))
            # The link's record outlives it by a day (the chat and the audit keep the name).
            pipe.pexpire(self.keys.guest(guest["id"]), max(ttl_ms, 1) + DAY_MS)
            pipe.set(self.keys.guest_token(token_hash), guest["id"], px=max(ttl_ms, 1))
            await pipe.execute()

    async def guest(self, guest_id: str) -> dict[str, str] | None:
        """A guest link's record, or None."""
        found = fields(await self.client.hgetall(self.keys.guest(guest_id)))
        return found or None

    async def update_guest(self, guest_id: str, values: dict[str, str]) -> None:
        """Change fields of a guest link (its state, when it was used)."""
        await self.client.hset(self.keys.guest(guest_id), mapping=entry(values))

    async def redeem(self, token_hash: str) -> str | None:
        """The guest a link token admits, taken atomically: a second use finds nothing."""
        return maybe_text(await self.client.getdel(self.keys.guest_token(token_hash)))

    async def drop_token(self, token_hash: str) -> None:
        """Make an unused link unusable (revoked, the session ended)."""
        await self.client.delete(self.keys.guest_token(token_hash))

    async def open_guest_session(self, cookie_hash: str, guest_id: str, ttl_ms: int) -> None:
        """Sign a guest page in: its cookie's hash names the guest until `ttl_ms`."""
        await self.client.set(self.keys.guest_session(cookie_hash), guest_id, px=max(ttl_ms, 1))

    async def guest_of_session(self, cookie_hash: str) -> str | None:
        """The guest a guest page's cookie belongs to, or None."""
        return maybe_text(await self.client.get(self.keys.guest_session(cookie_hash)))

    async def on_duty(self, clinician_id: str) -> bool:
        """Whether a clinician is available or busy with a live lease (a socket open)."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.clin_state, clinician_id)
            pipe.zscore(self.keys.presence_users, clinician_id)
            state, lease = await pipe.execute()
        return state in ("available", "busy") and lease is not None

    async def clinicians_with_a_socket(self) -> list[str]:
        """The ids of the clinicians with a live presence lease (a console or call open)."""
        return texts(await self.client.zrange(self.keys.presence_users, 0, -1))
