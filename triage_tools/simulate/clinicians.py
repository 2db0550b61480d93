"""A simulated clinician: takes the next request, assesses it and files the outcome."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from triage_client.call_flow import call_peer
from triage_client.client import ServiceClient
from triage_tools import shift_data as data
from triage_tools.simulate.shift import QUESTIONS, Sim, next_event, parse_time


class Clinician:
    """A signed-in clinician who takes the next request, assesses it and files the outcome."""

    def __init__(self, sim: Sim, client: ServiceClient, index: int) -> None:
        self.sim, self.client = sim, client
        self.rng = sim.rng("clinician", index)

    async def work(self) -> None:
        """Go available, then take requests until the shift is over; then go offline."""
        await self.sim.clock.sleep(self.rng.uniform(0, 3))
        await self.client.request("PUT", "/api/v1/availability", {"status": "available"})
        while not self.sim.over:
            code, request = await self.client.call("POST", "/api/v1/queue/next")
            if code == 200:
                await self.assess(request)
                await self.sim.clock.sleep(self.rng.uniform(1, 4))  # notes between sessions
            else:
                self.sim.tally.errors += code != 404
                await self.wait_for_work()
        await self.client.call("PUT", "/api/v1/availability", {"status": "offline"})

    async def wait_for_work(self) -> None:
        """Until a request arrives or one simulated minute passes."""
        until = time.monotonic() + self.sim.clock.real_s(1.0)
        while (left := until - time.monotonic()) > 0:
            event = await next_event(self.client, left)
            if event and (
                event.get("type") == "request.created"
                or (event.get("type") == "queue.changed" and event.get("waiting"))
            ):
                return

    async def assess(self, request: dict[str, Any]) -> None:
        """Chat, maybe call, then file an outcome after a realistic assessment."""
        tally, clock = self.sim.tally, self.sim.clock
        accepted = time.monotonic()
        tally.accepted += 1
        tally.in_session += 1
        tally.waits_s.append(parse_time(request["accepted_at"]) - parse_time(request["created_at"]))
        median = self.sim.shift.assessment_minutes
        length = data.lognormal_minutes(self.rng, median, 0.45, median / 3.5, median * 3.5)
        end = min(clock.minutes() + length, self.sim.shift.minutes + self.sim.shift.drain_minutes)
        peer = await self.start_call(request, accepted)
        path = f"/api/v1/requests/{request['id']}/messages"
        try:
            for _ in range(self.rng.randint(2, 4)):
                await clock.sleep((end - clock.minutes()) * self.rng.uniform(0.1, 0.3))
                code, _ = await self.client.call(
                    "POST", path, {"text": data.pick(self.rng, QUESTIONS)}
                )
                tally.messages += code == 201
            await clock.sleep(end - clock.minutes())
            await self.file_outcome(request)
        finally:
            tally.in_session -= 1
            if peer is not None:
                await peer.hang_up()

    async def start_call(self, request: dict[str, Any], accepted: float) -> Any:
        """With --calls, call the officer and wait for the data channel (None on failure)."""
        if not self.sim.shift.calls or request["mode"] == "text":
            return None
        peer = call_peer(self.client, request["mode"])
        try:
            await peer.call(request["id"])
            await peer.data_channel_open(timeout=20)
        except (TimeoutError, OSError, RuntimeError) as e:
            print(f"\ncall for {request['id']} failed: {e!r}", file=sys.stderr)
            self.sim.tally.calls_failed += 1
            await peer.hang_up()
            return None
        self.sim.tally.call_setups_s.append(time.monotonic() - accepted)
        return peer

    async def file_outcome(self, request: dict[str, Any]) -> None:
        """File a varied outcome (and referral) for the request."""
        outcome = data.outcome_form(self.rng, request, datetime.now(UTC))
        code, body = await self.client.call(
            "POST", f"/api/v1/requests/{request['id']}/outcome", outcome
        )
        if code == 201:
            self.sim.tally.completed += 1
            self.sim.tally.dispositions[outcome["disposition"]] += 1
        else:
            self.sim.tally.errors += 1
            print(f"\noutcome for {request['id']} refused: {code} {body}", file=sys.stderr)
