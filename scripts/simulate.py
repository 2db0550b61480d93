"""Play a realistic shift against a running triage service, or backfill past weeks of data.

Live shift (the default): officers arrive as a Poisson process with plausible requests
(urgency, Scottish areas, age bands, concerns, C-SSRS answers); clinicians go available,
take the next request, chat, optionally call with headless aiortc peers (`--calls`), and file
varied outcomes and referrals after realistic durations in compressed time (`--speed 60`: one
simulated minute per real second). Some officers cancel; requests still waiting past the
service's `max_wait_s` (real seconds) expire. Everything goes through the public REST API and
`/ws`. Progress on stderr, a summary at the end.

Backfill (`--backfill-days 7`): writes past completed, cancelled and expired requests, their
chat, outcomes and referral follow-ups straight through the lifecycle functions with the time
injected, in time order, so the statistics buckets and the events stream look like a real week.

Accounts: `sim-officer-NN` and `sim-clinician-NN`. `--create-accounts` makes any that are
missing (needs `--redis-url` or `--data-dir`, like backfill). For test and demo deployments
only: the accounts share one password (`--password`).

    scripts/simulate --create-accounts --data-dir ./var --minutes 60
    scripts/simulate --data-dir ./var --create-accounts --backfill-days 7 --minutes 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shift_data as data

from triage_service.domain.codes import Availability, Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.rtc.client import ServiceClient
from triage_service.service import lifecycle, messages, referrals
from triage_service.service.accounts import DuplicateUser, get_user, hash_password, save_user
from triage_service.settings import Settings
from triage_service.store.embedded import EmbeddedRedis
from triage_service.store.store import Store, connect

DEFAULT_PASSWORD = "simulated-shift-only"
QUESTIONS = (
    "Hello, I'm the mental health nurse. Can you tell me what's happened?",
    "Has he or she said anything about wanting to end their life?",
    "Is there anyone at home who could stay with them tonight?",
    "Are they taking any medication, and have they taken anything today?",
    "Thanks. Could you put them on so I can speak with them directly?",
)
REPLIES = (
    "We found them on the bridge about twenty minutes ago.",
    "They said they feel hopeless.",
    "Their sister lives nearby and is on her way.",
    "They say they haven't taken anything.",
    "Putting them on now.",
)


@dataclass(frozen=True, kw_only=True)
class Shift:
    """What to simulate; durations in simulated minutes."""

    url: str = "http://127.0.0.1:8080"
    minutes: float = 60.0
    speed: float = 60.0
    officers: int = 12
    clinicians: int = 4
    arrivals_per_hour: float = 12.0
    cancel_share: float = 0.07
    drain_minutes: float = 45.0
    assessment_minutes: float = 21.0
    calls: bool = False
    seed: int = 1
    password: str = DEFAULT_PASSWORD
    progress: bool = True


@dataclass
class Tally:
    """What happened, for the progress line and the summary."""

    created: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    expired: int = 0
    withdrawn_at_end: int = 0
    no_officer_free: int = 0
    messages: int = 0
    errors: int = 0
    waiting: int = 0
    in_session: int = 0
    waits_s: list[float] = field(default_factory=list)
    dispositions: Counter[str] = field(default_factory=Counter)
    call_setups_s: list[float] = field(default_factory=list)
    calls_failed: int = 0

    def summary(self, speed: float) -> dict[str, Any]:
        """The figures at the end; waits in real seconds and in simulated minutes."""
        median_wait = statistics.median(self.waits_s) if self.waits_s else None
        return {
            "requests": self.created,
            "accepted": self.accepted,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "expired": self.expired,
            "withdrawn_at_end": self.withdrawn_at_end,
            "no_officer_free": self.no_officer_free,
            "messages": self.messages,
            "errors": self.errors,
            "median_wait_s": round(median_wait, 2) if median_wait is not None else None,
            "median_wait_sim_min": (
                round(median_wait * speed / 60, 1) if median_wait is not None else None
            ),
            "dispositions": dict(self.dispositions.most_common()),
            "calls": {
                "connected": len(self.call_setups_s),
                "failed": self.calls_failed,
                "median_setup_ms": (
                    round(statistics.median(self.call_setups_s) * 1000)
                    if self.call_setups_s
                    else None
                ),
            },
        }


class SimClock:
    """Simulated minutes since the start, `speed` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.started = time.monotonic()

    def minutes(self) -> float:
        """Simulated minutes elapsed."""
        return (time.monotonic() - self.started) * self.speed / 60

    def real_s(self, minutes: float) -> float:
        """Real seconds that `minutes` simulated minutes take."""
        return max(0.0, minutes) * 60 / self.speed

    async def sleep(self, minutes: float) -> None:
        """Sleep for `minutes` simulated minutes."""
        await asyncio.sleep(self.real_s(minutes))


class Sim:
    """State shared by the agents of one live shift."""

    def __init__(self, shift: Shift) -> None:
        self.shift = shift
        self.clock = SimClock(shift.speed)
        self.tally = Tally()
        self.active = 0  # incidents not yet finished

    @property
    def ending(self) -> bool:
        """Past the shift: no new arrivals, finish what is open."""
        return self.clock.minutes() >= self.shift.minutes

    @property
    def over(self) -> bool:
        """Everything is finished, or the drain time after the shift is used up."""
        past = self.clock.minutes() - self.shift.minutes
        return past >= 0 and (self.active == 0 or past >= self.shift.drain_minutes)

    def rng(self, *names: object) -> random.Random:
        """A generator seeded from the shift's seed and `names`, so runs repeat."""
        return random.Random(":".join(map(str, (self.shift.seed, *names))))


def parse_time(text: str) -> float:
    """Seconds since the epoch of an API timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def next_event(client: ServiceClient, timeout_s: float) -> dict[str, Any] | None:
    """The next live message, or None after `timeout_s`."""
    try:
        return await asyncio.wait_for(client.events.get(), timeout=max(0.01, timeout_s))
    except TimeoutError:
        return None


def call_peer(client: ServiceClient, mode: str) -> Any:
    """A headless aiortc peer on this client's session, sending the request's media."""
    from triage_service.rtc.headless import HeadlessPeer

    return HeadlessPeer(client, video=mode == "video", audio=True)


# ---------------------------------------------------------------- officers


class Officer:
    """A signed-in officer who raises one request at a time and talks to the clinician."""

    def __init__(self, sim: Sim, client: ServiceClient, index: int) -> None:
        self.sim, self.client = sim, client
        self.rng = sim.rng("officer", index)
        self.peer: Any = None

    async def incident(self, number: int) -> None:
        """Raise a request and follow it to its end."""
        tally = self.sim.tally
        form = data.request_form(self.rng, number, datetime.now(UTC))
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


# ---------------------------------------------------------------- clinicians


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


# ---------------------------------------------------------------- the shift


async def arrivals(sim: Sim, officers: list[Officer], tasks: set[asyncio.Task[None]]) -> None:
    """Officers call in as a Poisson process until the shift ends."""
    rng, idle, number = sim.rng("arrivals"), list(officers), 0
    while True:
        await sim.clock.sleep(rng.expovariate(sim.shift.arrivals_per_hour / 60))
        if sim.ending:
            return
        if not idle:
            sim.tally.no_officer_free += 1
            continue
        number += 1
        officer = idle.pop(rng.randrange(len(idle)))
        sim.active += 1
        task = asyncio.create_task(incident(sim, officer, number, idle))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def incident(sim: Sim, officer: Officer, number: int, idle: list[Officer]) -> None:
    """One officer's incident; the officer is free again afterwards."""
    try:
        await officer.incident(number)
    finally:
        sim.active -= 1
        idle.append(officer)


def progress_line(sim: Sim) -> str:
    """The progress bar and the running counts."""
    total, now, t = sim.shift.minutes, sim.clock.minutes(), sim.tally
    done = min(1.0, now / total) if total else 1.0
    return (
        f"[{'#' * int(done * 30):<30}] {now:6.1f}/{total:.0f} min"
        f"{' (finishing)' if sim.ending else ''}  requests {t.created}  "
        f"waiting {t.waiting}  in session {t.in_session}  completed {t.completed}  "
        f"cancelled {t.cancelled}  expired {t.expired}"
    )


async def progress(sim: Sim) -> None:
    """A one-line progress bar on stderr (a line per 10 % when not a terminal)."""
    tty, last_decile = sys.stderr.isatty(), -1
    while True:
        decile = int(min(1.0, sim.clock.minutes() / (sim.shift.minutes or 1)) * 10)
        if tty:
            print("\r" + progress_line(sim), end="", file=sys.stderr, flush=True)
        elif decile > last_decile:
            last_decile = decile
            print(progress_line(sim), file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def signed_in(
    url: str, usernames: list[str], password: str
) -> AsyncIterator[list[ServiceClient]]:
    """Clients signed in as `usernames` with their live channel open; closed afterwards."""
    clients = [ServiceClient(url) for _ in usernames]
    try:
        gate = asyncio.Semaphore(4)  # argon2id: a few sign-ins at a time

        async def sign_in(client: ServiceClient, username: str) -> None:
            async with gate:
                await client.sign_in(username, password)
            await client.open_live()

        await asyncio.gather(*(sign_in(c, u) for c, u in zip(clients, usernames, strict=True)))
        yield clients
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def run_shift(shift: Shift) -> dict[str, Any]:
    """Play one shift against the service at `shift.url`; return the summary."""
    sim = Sim(shift)
    names = usernames(shift)
    async with (
        signed_in(shift.url, names["officer"], shift.password) as officer_clients,
        signed_in(shift.url, names["clinician"], shift.password) as clinician_clients,
    ):
        sim.clock = SimClock(shift.speed)  # start the clock once everyone is signed in
        officers = [Officer(sim, c, i) for i, c in enumerate(officer_clients)]
        clinicians = [Clinician(sim, c, i) for i, c in enumerate(clinician_clients)]
        incidents: set[asyncio.Task[None]] = set()
        bar = asyncio.create_task(progress(sim)) if shift.progress else None
        try:
            await asyncio.gather(
                arrivals(sim, officers, incidents), *(c.work() for c in clinicians)
            )
            if incidents:
                await asyncio.gather(*incidents)
        finally:
            if bar is not None:
                bar.cancel()
                await asyncio.wait({bar})
                print(("\r" if sys.stderr.isatty() else "") + progress_line(sim), file=sys.stderr)
    return sim.tally.summary(shift.speed)


# ---------------------------------------------------------------- accounts and backfill


def usernames(shift: Shift) -> dict[str, list[str]]:
    """The simulation's account names by role."""
    return {
        "officer": [f"sim-officer-{i + 1:02d}" for i in range(shift.officers)],
        "clinician": [f"sim-clinician-{i + 1:02d}" for i in range(shift.clinicians)],
    }


async def create_accounts(store: Store, shift: Shift) -> dict[str, list[User]]:
    """Create any missing simulation accounts (one shared password); return all of them."""
    password_hash = await hash_password(shift.password)
    names = usernames(shift)
    display = {
        "officer": lambda i: f"PC {data.OFFICER_NAMES[i % len(data.OFFICER_NAMES)]}",
        "clinician": lambda i: f"{data.CLINICIAN_NAMES[i % len(data.CLINICIAN_NAMES)]} (CPN)",
    }
    users: dict[str, list[User]] = {}
    for role, role_names in names.items():
        users[role] = []
        for i, username in enumerate(role_names):
            try:
                user = await save_user(
                    store,
                    username=username,
                    role=Role(role),
                    password_hash=password_hash,
                    display_name=display[role](i),
                )
            except DuplicateUser:
                user_id = await store.client.hget(store.keys("users"), username)
                found = await get_user(store, user_id)
                assert found is not None, username
                user = found
            users[role].append(user)
    return users


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
        form = RequestForm.model_validate(data.request_form(rng, number, when))
        officer = data.pick(rng, self.users["officer"])
        median_wait = {"immediate": 0.75, "urgent": 2.5, "routine": 4.0}[form.urgency.value]
        wait_ms = int(data.lognormal_minutes(rng, median_wait, 0.7, 0.1, 60) * 60_000)
        length_ms = int(data.lognormal_minutes(rng, 21, 0.45, 6, 75) * 60_000)
        if created_ms + min(wait_ms, self.max_wait_ms) + length_ms + 60_000 >= self.now_ms:
            return
        record: dict[str, Any] = {}

        async def create(now_ms: int) -> None:
            created, _ = await lifecycle.create_request(
                self.store, self.settings, officer, form, now_ms=now_ms, idempotency_key=None
            )
            record.update(created)
            self.tally.created += 1

        async def cancel(now_ms: int) -> None:
            await lifecycle.cancel_request(
                self.store, self.settings, officer, record["id"], now_ms=now_ms
            )
            self.tally.cancelled += 1

        async def expire(now_ms: int) -> None:
            await lifecycle.expire_request(self.store, record["id"], now_ms=now_ms)
            self.tally.expired += 1

        self.at(created_ms, create)
        if rng.random() < 0.06 and wait_ms > 60_000:
            self.at(created_ms + rng.randint(60_000, min(wait_ms, self.max_wait_ms)), cancel)
        elif wait_ms >= self.max_wait_ms:
            self.at(created_ms + self.max_wait_ms, expire)
        else:
            self.plan_session(created_ms + wait_ms, length_ms, form, officer, record)

    def plan_session(
        self,
        accepted_ms: int,
        length_ms: int,
        form: RequestForm,
        officer: User,
        record: dict[str, Any],
    ) -> None:
        """Accept, two to four chat messages, then the outcome."""
        rng, clinician = self.rng, data.pick(self.rng, self.users["clinician"])
        outcome_ms = accepted_ms + length_ms

        async def accept(now_ms: int) -> None:
            record.update(
                await lifecycle.accept_request(self.store, clinician, record["id"], now_ms=now_ms)
            )
            self.tally.accepted += 1
            self.tally.waits_s.append((now_ms - int(record["created_ms"])) / 1000)

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
        self.at(
            outcome_ms, self.file_outcome(clinician, OutcomeForm.model_validate(outcome), record)
        )

    def message(self, author: User, text: str, record: dict[str, Any]) -> StepFn:
        """The step that posts one chat message."""

        async def step(now_ms: int) -> None:
            await messages.post_message(self.store, record, author, text, now_ms=now_ms)
            self.tally.messages += 1

        return step

    def file_outcome(self, clinician: User, outcome: OutcomeForm, record: dict[str, Any]) -> StepFn:
        """The step that files the outcome, then plans its referral's follow-up."""

        async def step(now_ms: int) -> None:
            done = await lifecycle.file_outcome(
                self.store, self.settings, clinician, record["id"], outcome, now_ms=now_ms
            )
            self.tally.completed += 1
            self.tally.dispositions[outcome.disposition.value] += 1
            for key in ("referral_id", "notice_id"):
                if done.get(key):
                    await self.plan_follow_up(done[key], clinician, now_ms)

        return step

    async def plan_follow_up(self, referral_id: str, clinician: User, made_ms: int) -> None:
        """Most referrals are completed on time, some late, a few not attended, some open."""
        due_ms = int(await self.store.client.hget(self.store.keys.referral(referral_id), "due_ms"))
        span = max(due_ms - made_ms, 3_600_000)
        fate = data.weighted(self.rng, {"on_time": 80, "late": 10, "did_not_attend": 5, "open": 5})
        if fate == "open":
            return
        share = self.rng.uniform(1.05, 1.6) if fate == "late" else self.rng.uniform(0.1, 0.95)
        status = "did_not_attend" if fate == "did_not_attend" else "completed"

        async def step(now_ms: int) -> None:
            await referrals.update_referral(
                self.store,
                referral_id,
                status,
                "Recorded by the simulation.",
                actor_id=clinician.id,
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
) -> dict[str, Any]:
    """Write `days` days of past requests; return the summary of what was written."""
    now_ms = time.time_ns() // 1_000_000
    # The running service sweeps expiry timers: set each request's timer beyond now so the
    # sweeper never races the backfill; every request is finished explicitly instead.
    settings = Settings(
        redis_url="redis://backfill", key_prefix=store.keys.prefix, max_wait_s=(days + 2) * 86_400
    )
    filler = Backfill(
        store, settings, users, random.Random(f"{seed}:backfill"), now_ms, max_wait_s * 1000
    )
    return (await filler.run(days, per_day)).summary(speed=60)


# ---------------------------------------------------------------- command line


@contextlib.asynccontextmanager
async def redis_store(args: argparse.Namespace) -> AsyncIterator[Store]:
    """The service's Redis: `--redis-url`, else the embedded one under `--data-dir`."""
    embedded = None
    url = args.redis_url or os.environ.get("TRIAGE_REDIS_URL")
    if not url:
        if not args.data_dir:
            raise SystemExit(
                "simulate: --create-accounts and --backfill-days need --redis-url or --data-dir"
            )
        embedded = EmbeddedRedis(Path(args.data_dir))
        url = await embedded.start()
    client = await connect(url, attempts=5)
    try:
        yield Store(client, args.key_prefix)
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    d = Shift()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=d.url, help="the running service")
    p.add_argument("--minutes", type=float, default=d.minutes, help="simulated shift length")
    p.add_argument(
        "--speed",
        type=float,
        default=d.speed,
        help="simulated minutes per real minute (60: a minute per second)",
    )
    p.add_argument("--officers", type=int, default=d.officers)
    p.add_argument("--clinicians", type=int, default=d.clinicians)
    p.add_argument(
        "--arrivals-per-hour",
        type=float,
        default=d.arrivals_per_hour,
        help="mean requests per simulated hour (Poisson)",
    )
    p.add_argument(
        "--cancel-share",
        type=float,
        default=d.cancel_share,
        help="share of officers who cancel while waiting",
    )
    p.add_argument(
        "--drain-minutes",
        type=float,
        default=d.drain_minutes,
        help="after the shift, time to finish open requests",
    )
    p.add_argument("--calls", action="store_true", help="real WebRTC calls (headless aiortc)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--password",
        default=os.environ.get("TRIAGE_SIM_PASSWORD", d.password),
        help="password of the sim-* accounts (env TRIAGE_SIM_PASSWORD)",
    )
    p.add_argument(
        "--create-accounts",
        action="store_true",
        help="create missing sim-* accounts (needs --redis-url or --data-dir)",
    )
    p.add_argument("--redis-url", help="the service's Redis (for accounts and backfill)")
    p.add_argument("--data-dir", help="the service's data dir (its embedded Redis)")
    p.add_argument("--key-prefix", default="triage:")
    p.add_argument(
        "--backfill-days",
        type=int,
        default=0,
        help="first write this many past days through the lifecycle scripts",
    )
    p.add_argument("--per-day", type=float, default=36.0, help="backfill: requests per day")
    p.add_argument(
        "--max-wait-s",
        type=int,
        default=900,
        help="backfill: the service's max_wait_s (waits beyond it expire)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def print_summary(title: str, summary: dict[str, Any], as_json: bool) -> None:
    """The end-of-run summary on stdout."""
    if as_json:
        print(json.dumps({title: summary}, indent=2))
        return
    print(
        f"{title}: {summary['requests']} requests, {summary['completed']} completed, "
        f"{summary['cancelled']} cancelled, {summary['expired']} expired"
        + (
            f", {summary['withdrawn_at_end']} withdrawn at the end"
            if summary["withdrawn_at_end"]
            else ""
        )
    )
    if summary["median_wait_s"] is not None:
        print(
            f"  median wait {summary['median_wait_s']} s"
            + (f" (≈ {summary['median_wait_sim_min']} simulated min)" if title == "shift" else "")
        )
    for disposition, count in summary["dispositions"].items():
        print(f"  {disposition:<32}{count}")
    calls = summary["calls"]
    if calls["connected"] or calls["failed"]:
        print(
            f"  calls: {calls['connected']} connected (median set-up "
            f"{calls['median_setup_ms']} ms), {calls['failed']} failed"
        )


async def main_async(argv: list[str] | None = None) -> dict[str, Any]:
    """Create accounts and backfill if asked, then play the shift; return the summaries."""
    args = parse_args(argv)
    shift = Shift(
        url=args.url,
        minutes=args.minutes,
        speed=args.speed,
        officers=args.officers,
        clinicians=args.clinicians,
        arrivals_per_hour=args.arrivals_per_hour,
        cancel_share=args.cancel_share,
        drain_minutes=args.drain_minutes,
        calls=args.calls,
        seed=args.seed,
        password=args.password,
        progress=not args.quiet,
    )
    results: dict[str, Any] = {}
    if args.create_accounts or args.backfill_days:
        async with redis_store(args) as store:
            users = await create_accounts(store, shift)
            if args.backfill_days:
                print(f"backfilling {args.backfill_days} days …", file=sys.stderr)
                results["backfill"] = await backfill(
                    store,
                    users,
                    days=args.backfill_days,
                    per_day=args.per_day,
                    seed=args.seed,
                    max_wait_s=args.max_wait_s,
                )
                print_summary("backfill", results["backfill"], args.json)
    if shift.minutes > 0:
        results["shift"] = await run_shift(shift)
        print_summary("shift", results["shift"], args.json)
    return results


def main() -> None:
    """Entry point of scripts/simulate."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(sys.argv[1:]))


if __name__ == "__main__":
    main()
