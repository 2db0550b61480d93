"""Backfill: past weeks of requests written through the lifecycle functions in time order."""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from triage_service.domain.codes import Availability
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle, messages, referrals
from triage_service.settings import Settings
from triage_service.store import Request
from triage_service.store.store import Store
from triage_tools import shift_data as data
from triage_tools.simulate.shift import QUESTIONS, REPLIES, Tally

StepFn = Callable[[int], Coroutine[Any, Any, None]]


@dataclass
class Backfill:
    """Past requests written through the lifecycle functions with an injected clock.

    Every request's steps (create, accept, messages, outcome, referral follow-up, or cancel or
    expire) are planned first and then played in time order, so the events stream and the
    statistics buckets read as if the week had happened.
    """

    store: Store
    settings: Settings
    users: dict[str, list[User]]
    rng: random.Random
    now_ms: int
    max_wait_ms: int
    tally: Tally = field(default_factory=Tally)
    steps: list[tuple[int, int, StepFn]] = field(default_factory=list)
    planned: int = 0
    # clinician id -> the (accept, outcome) times of their planned sessions: one at a time.
    sessions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @cached_property
    def mix(self) -> data.AreaMix:
        """The areas requests come from: the directory's, else the national mix."""
        return data.area_mix(
            [(a.id, a.name, a.lat, a.lon) for b in self.settings.areas.boards for a in b.areas]
        )

    def covering(self, form: RequestForm) -> list[User]:
        """The clinicians covering the request's board (all, if none does): they answer it
        before it overflows to the others."""
        area = self.settings.areas.resolve(form.location.area_id, form.location.area)
        board = area.board if area else ""
        found = [c for c in self.users["clinician"] if not c.boards or board in c.boards]
        return found or self.users["clinician"]

    def free_clinician(self, form: RequestForm, start_ms: int, end_ms: int) -> User | None:
        """A clinician covering the request's board who is in no other session from `start_ms`
        to `end_ms` (none: nobody could answer); that time is then theirs."""
        free = [
            c
            for c in self.covering(form)
            if all(end_ms <= a or b <= start_ms for a, b in self.sessions.get(c.id, []))
        ]
        if not free:
            return None
        clinician = data.pick(self.rng, free)
        self.sessions.setdefault(clinician.id, []).append((start_ms, end_ms))
        return clinician

    def at(self, when_ms: int, step: StepFn) -> None:
        """Schedule `step(when_ms)`; steps in the future are left out."""
        if when_ms < self.now_ms:
            self.planned += 1
            heapq.heappush(self.steps, (when_ms, self.planned, step))

    def plan_request(self, created_ms: int, number: int) -> None:
        """One request's life: created, then cancelled, expired or accepted and completed.

        A request whose life would not be over by now is left out: the live service owns now.
        """
        rng = self.rng
        when = datetime.fromtimestamp(created_ms / 1000, UTC)
        form = RequestForm.model_validate(data.request_form(rng, number, when, self.mix))
        officer = data.pick(rng, self.users["officer"])
        median_wait = {"immediate": 0.75, "urgent": 2.5, "routine": 4.0}[form.urgency.value]
        wait_ms = int(data.lognormal_minutes(rng, median_wait, 0.7, 0.1, 60) * 60_000)
        length_ms = int(data.lognormal_minutes(rng, 21, 0.45, 6, 75) * 60_000)
        if created_ms + min(wait_ms, self.max_wait_ms) + length_ms + 60_000 >= self.now_ms:
            return
        record: dict[str, Request] = {}  # the request as its last step left it

        async def create(now_ms: int) -> None:
            created, _ = await lifecycle.create_request(
                self.store, self.settings, officer, form, now_ms=now_ms, idempotency_key=None
            )
            record["request"] = created
            self.tally.created += 1

        async def cancel(now_ms: int) -> None:
            await lifecycle.cancel_request(
                self.store, self.settings, officer, record["request"].id, now_ms=now_ms
            )
            self.tally.cancelled += 1

        async def expire(now_ms: int) -> None:
            await lifecycle.expire_request(self.store, record["request"].id, now_ms=now_ms)
            self.tally.expired += 1

        self.at(created_ms, create)
        if rng.random() < 0.06 and wait_ms > 60_000:
            self.at(created_ms + rng.randint(60_000, min(wait_ms, self.max_wait_ms)), cancel)
        elif wait_ms >= self.max_wait_ms:
            self.at(created_ms + self.max_wait_ms, expire)
        elif clinician := self.free_clinician(
            form, created_ms + wait_ms, created_ms + wait_ms + length_ms
        ):
            self.plan_session(created_ms + wait_ms, length_ms, form, officer, record, clinician)
        else:  # every clinician was in another session all along
            self.at(created_ms + self.max_wait_ms, expire)

    def plan_session(
        self,
        accepted_ms: int,
        length_ms: int,
        form: RequestForm,
        officer: User,
        record: dict[str, Request],
        clinician: User,
    ) -> None:
        """Accept, two to four chat messages, then the outcome."""
        rng = self.rng
        outcome_ms = accepted_ms + length_ms

        async def accept(now_ms: int) -> None:
            record["request"] = await lifecycle.accept_request(
                self.store, clinician, record["request"].id, now_ms=now_ms
            )
            self.tally.accepted += 1
            self.tally.waits_s.append((now_ms - record["request"].created_ms) / 1000)

        self.at(accepted_ms, accept)
        for i in range(rng.randint(2, 4)):
            author, texts = (clinician, QUESTIONS) if i % 2 == 0 else (officer, REPLIES)
            self.at(
                accepted_ms + (i + 1) * length_ms // 6,
                self.message(author, data.pick(rng, texts), record),
            )
        outcome = data.outcome_form(
            rng, form.model_dump(mode="json"), datetime.fromtimestamp(outcome_ms / 1000, UTC)
        )
        if outcome["conveyance"] != "none":  # the officer waits for the ambulance or escorts
            released_ms = outcome_ms + rng.randint(20, 120) * 60_000
            outcome["officer_released_at"] = data.iso(
                datetime.fromtimestamp(released_ms / 1000, UTC)
            )
            outcome["officer_can_leave"] = True
        self.at(
            outcome_ms, self.file_outcome(clinician, OutcomeForm.model_validate(outcome), record)
        )

    def message(self, author: User, text: str, record: dict[str, Request]) -> StepFn:
        """The step that posts one chat message."""

        async def step(now_ms: int) -> None:
            await messages.post_message(self.store, record["request"], author, text, now_ms=now_ms)
            self.tally.messages += 1

        return step

    def file_outcome(
        self, clinician: User, outcome: OutcomeForm, record: dict[str, Request]
    ) -> StepFn:
        """The step that files the outcome, then plans its referral's follow-up."""

        async def step(now_ms: int) -> None:
            done = await lifecycle.file_outcome(
                self.store, self.settings, clinician, record["request"].id, outcome, now_ms=now_ms
            )
            self.tally.completed += 1
            self.tally.dispositions[outcome.disposition.value] += 1
            for referral_id in (done.referral_id, done.notice_id):
                if referral_id:
                    await self.plan_follow_up(referral_id, clinician, now_ms)

        return step

    async def plan_follow_up(self, referral_id: str, clinician: User, made_ms: int) -> None:
        """Most referrals are completed on time, some late, a few not attended, some open (an
        s298 notification is sent or left open: nobody attends it)."""
        row = await self.store.referrals.load(referral_id)
        due_ms = int(row["due_ms"])
        span = max(due_ms - made_ms, 3_600_000)
        fate = data.weighted(self.rng, {"on_time": 80, "late": 10, "did_not_attend": 5, "open": 5})
        if fate == "open" or (fate == "did_not_attend" and row.get("kind") == "mwc_notification"):
            return
        share = self.rng.uniform(1.05, 1.6) if fate == "late" else self.rng.uniform(0.1, 0.95)
        status = "did_not_attend" if fate == "did_not_attend" else "completed"

        async def step(now_ms: int) -> None:
            await referrals.update_referral(
                self.store,
                referral_id,
                status,
                "Recorded by the simulation.",
                actor=clinician,
                now_ms=now_ms,
            )

        self.at(made_ms + int(span * share), step)

    async def run(self, days: int, per_day: float) -> Tally:
        """Plan the last `days` days hour by hour, then play every step in time order."""
        hour = datetime.fromtimestamp(self.now_ms / 1000, UTC).replace(
            minute=0, second=0, microsecond=0
        ) - timedelta(days=days)
        number = 0
        while (hour_ms := int(hour.timestamp() * 1000)) < self.now_ms:
            for _ in range(data.poisson(self.rng, data.hourly_rate(per_day, hour))):
                number += 1
                self.plan_request(hour_ms + self.rng.randrange(3_600_000), number)
            hour += timedelta(hours=1)
        while self.steps:
            when_ms, _, step = heapq.heappop(self.steps)
            await step(when_ms)
        for clinician in self.users["clinician"]:
            await lifecycle.set_availability(
                self.store, clinician, Availability.OFFLINE, now_ms=self.now_ms
            )
        return self.tally


async def backfill(
    store: Store,
    users: dict[str, list[User]],
    *,
    days: int,
    per_day: float,
    seed: int,
    max_wait_s: int,
    areas_file: str | None = None,
) -> dict[str, Any]:
    """Write `days` days of past requests (from the areas of `areas_file`, the service's
    directory, when given); return the summary of what was written."""
    now_ms = time.time_ns() // 1_000_000
    # The running service sweeps expiry timers: set each request's timer beyond now so the
    # sweeper never races the backfill; every request is finished explicitly instead.
    settings = Settings(
        redis_url="redis://backfill",
        key_prefix=store.keys.prefix,
        max_wait_s=(days + 2) * 86_400,
        areas_file=areas_file,
    )
    filler = Backfill(
        store, settings, users, random.Random(f"{seed}:backfill"), now_ms, max_wait_s * 1000
    )
    return (await filler.run(days, per_day)).summary(speed=60)
