"""A simulated officer: raises one request at a time and talks to the clinician."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from triage_client.call_flow import call_peer
from triage_client.client import ServiceClient
from triage_tools import shift_data as data
from triage_tools.simulate.shift import REPLIES, Sim, next_event


class Officer:
    """A signed-in officer who raises one request at a time and talks to the clinician."""

    def __init__(self, sim: Sim, client: ServiceClient, index: int) -> None:
        self.sim, self.client = sim, client
        self.rng = sim.rng("officer", index)
        self.peer: Any = None

    async def incident(self, number: int) -> None:
        """Raise a request and follow it to its end."""
        tally = self.sim.tally
        form = data.request_form(self.rng, number, datetime.now(UTC), self.sim.mix)
        status, created = await self.client.call("POST", "/api/v1/requests", form)
        if status != 201:
            tally.errors += 1
            return
        tally.created += 1
        tally.waiting += 1
        gives_up = None
        if self.rng.random() < self.sim.shift.cancel_share:
            gives_up = self.sim.clock.minutes() + self.rng.uniform(2, 12)
        try:
            await self.follow(created["id"], form["mode"], gives_up)
        finally:
            await self.hang_up()

    async def follow(self, rid: str, mode: str, gives_up: float | None) -> None:
        """React to live events until the request is finished."""
        status = "waiting"
        while status in ("waiting", "in_session"):
            deadline = self.deadline(status, gives_up)
            event = await next_event(
                self.client, self.sim.clock.real_s(min(deadline - self.sim.clock.minutes(), 2.0))
            )
            if event is None:
                if self.sim.clock.minutes() >= deadline:
                    status = await self.withdraw(rid, mode, at_end=gives_up is None)
                else:
                    status = await self.reread(rid, status, mode)
            elif event.get("type") == "request.updated" and event["request"]["id"] == rid:
                status = await self.changed(status, event["request"]["status"], rid, mode)
            elif event.get("type") == "chat.message" and event["request_id"] == rid:
                await self.reply(rid, event["message"])

    def deadline(self, status: str, gives_up: float | None) -> float:
        """When this officer stops waiting: their patience, or the end of the drain time."""
        end = self.sim.shift.minutes + self.sim.shift.drain_minutes
        if status != "waiting":
            return float("inf")
        return min(gives_up, end) if gives_up is not None else end

    async def reread(self, rid: str, status: str, mode: str) -> str:
        """Re-read the request over REST (a wake-up may have been lost)."""
        code, request = await self.client.call("GET", f"/api/v1/requests/{rid}")
        if code != 200:
            return status
        return await self.changed(status, request["status"], rid, mode)

    async def changed(self, old: str, new: str, rid: str, mode: str) -> str:
        """Count a status change; start the call when the clinician has accepted."""
        tally = self.sim.tally
        if new == old:
            return new
        if old == "waiting":
            tally.waiting -= 1
        if new == "in_session" and self.sim.shift.calls and mode != "text":
            self.peer = call_peer(self.client, mode)
            await self.peer.call(rid)
        elif new == "expired":
            tally.expired += 1
        elif new == "cancelled":
            tally.cancelled += 1
        return new

    async def withdraw(self, rid: str, mode: str, *, at_end: bool) -> str:
        """Cancel a request still waiting (on 409 it was answered just now: carry on)."""
        code, _ = await self.client.call("POST", f"/api/v1/requests/{rid}/cancel")
        if code != 200:
            return await self.reread(rid, "waiting", mode)
        self.sim.tally.waiting -= 1
        if at_end:
            self.sim.tally.withdrawn_at_end += 1
        else:
            self.sim.tally.cancelled += 1
        return "cancelled"

    async def reply(self, rid: str, message: dict[str, Any]) -> None:
        """Answer the clinician after a moment."""
        if message["author"]["role"] != "clinician":
            return
        await self.sim.clock.sleep(self.rng.uniform(0.3, 1.5))
        code, _ = await self.client.call(
            "POST", f"/api/v1/requests/{rid}/messages", {"text": data.pick(self.rng, REPLIES)}
        )
        self.sim.tally.messages += code == 201

    async def hang_up(self) -> None:
        """End any call."""
        if self.peer is not None:
            await self.peer.hang_up()
            self.peer = None
