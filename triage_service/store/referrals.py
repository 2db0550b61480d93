"""Referrals and s298 notifications: one hash each, indexed by creation and due time."""

from __future__ import annotations

from collections.abc import Sequence

from triage_service.store.base import Part, fields, scored, texts
from triage_service.store.maintenance import delete_prefix


class Referrals(Part):
    """The referral hashes and their `referrals`, `referrals:open` indexes."""

    async def newest(self, limit: int) -> list[str]:
        """The latest `limit` referral ids, newest first."""
        return texts(await self.client.zrevrange(self.keys.referrals, 0, limit - 1))

    async def open_due_by(self, upper: int | str, limit: int) -> list[str]:
        """Open referral ids due by `upper` (Redis score syntax), soonest first."""
        ids = await self.client.zrangebyscore(
            self.keys.referrals_open, "-inf", upper, start=0, num=limit
        )
        return texts(ids)

    async def overdue_and_notices(
        self, *, now_ms: int, notices_until_ms: int, limit: int
    ) -> tuple[list[str], list[tuple[str, float]]]:
        """Open referrals already past due, and open s298 notifications due by
        `notices_until_ms` with their due times, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(self.keys.referrals_open, "-inf", f"({now_ms}", start=0, num=limit)
            pipe.zrangebyscore(
                self.keys.referrals_mwc, "-inf", notices_until_ms, 0, limit, withscores=True
            )
            overdue, notices = await pipe.execute()
        return texts(overdue), scored(notices)

    async def of_team(self, team: str, scope: str, *, now_ms: int, limit: int) -> list[str]:
        """A team's referral ids: open (or overdue) soonest due first, or all newest first."""
        if scope == "all":
            return texts(await self.client.zrevrange(self.keys.team_referrals(team), 0, limit - 1))
        upper = f"({now_ms}" if scope == "overdue" else "+inf"
        found = await self.client.zrangebyscore(
            self.keys.team_open(team), "-inf", upper, start=0, num=limit
        )
        return texts(found)

    async def of_clinician(self, clinician_id: str, limit: int) -> list[str]:
        """The referrals a clinician made, newest first."""
        found = await self.client.zrevrange(
            self.keys.clinician_referrals(clinician_id), 0, limit - 1
        )
        return texts(found)

    async def outcomes(self, request_ids: Sequence[str]) -> list[str | None]:
        """The filed outcome (JSON) of each request, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hget(self.keys.request(request_id), "outcome")
            return list(await pipe.execute())

    async def load(self, referral_id: str) -> dict[str, str]:
        """A referral's hash (empty if there is none)."""
        return fields(await self.client.hgetall(self.keys.referral(referral_id)))

    async def load_many(self, referral_ids: Sequence[str]) -> list[dict[str, str]]:
        """Several referral hashes in one round trip (empty where one vanished)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for referral_id in referral_ids:
                pipe.hgetall(self.keys.referral(referral_id))
            return [fields(row) for row in await pipe.execute()]

    async def places(self, request_ids: Sequence[str]) -> list[tuple[str | None, str | None]]:
        """The area id and free-text area of each referral's request, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hmget(self.keys.request(request_id), ["area_id", "area"])
            return [(area_id, area) for area_id, area in await pipe.execute()]

    async def fields_of(
        self, referral_ids: Sequence[str], names: Sequence[str]
    ) -> list[dict[str, str | None]]:
        """The named fields of each referral (None where absent), in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for referral_id in referral_ids:
                pipe.hmget(self.keys.referral(referral_id), list(names))
            found = await pipe.execute()
        return [dict(zip(names, values, strict=True)) for values in found]

    async def index_open_by_board(self) -> int:
        """Copy each member of `referrals:open:created` into its request's board's set (a
        store from before boards had their own); how many were indexed."""
        keys = self.keys
        members = scored(
            await self.client.zrange(keys.referrals_open_created, 0, -1, withscores=True)
        )
        ids = [member.rsplit(":", 1)[-1] for member, _ in members]
        requests = await self.fields_of(ids, ("request_id",))
        async with self.client.pipeline(transaction=False) as pipe:
            for row in requests:
                pipe.hget(keys.request(row["request_id"] or ""), "board")
            boards = texts(await pipe.execute())
        async with self.client.pipeline(transaction=True) as pipe:
            for (member, created), board in zip(members, boards, strict=True):
                if board:
                    pipe.zadd(keys.board_referrals_open_created(board), {member: created})
            await pipe.execute()
        return sum(1 for board in boards if board)

    async def drop_open_created(self) -> int:
        """Delete what is left of the boards' `referrals:open:created:{board}` sets (data
        layout 3 indexes the open referrals by due time instead); how many keys."""
        return await delete_prefix(self.client, self.keys.board_referrals_open_created(""))
