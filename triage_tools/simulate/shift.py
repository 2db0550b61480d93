"""A simulated shift's settings, clock, shared state and tally."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage_client.client import ServiceClient
from triage_tools import shift_data as data

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
    clinician_boards: tuple[str, ...] = ()  # shared out in turn; empty: every board


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
        self.mix = data.NATIONAL  # the service's areas, once read (run.load_areas)

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
