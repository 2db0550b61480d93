"""What waiting officers and staff hear of the queue: after each change, `queue.changed` to
staff (the requests each may see) and to every waiting officer (their position and honest
wait), and the whole request to an officer whose waiting state changed. The wake-up
dispatcher (live/wakeups.py) builds on it."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import Availability, RequestStatus, Role
from triage_service.domain.safety import fallback_reason
from triage_service.domain.times import Clock
from triage_service.domain.users import User
from triage_service.live.foreground import Foreground
from triage_service.live.hub import Hub
from triage_service.live.waiting import Estimator, Waiting, WaitingState
from triage_service.service import records
from triage_service.service.presence import clinicians_on_duty, staffing
from triage_service.service.records import WaitingPlace
from triage_service.store import QueueState, Request
from triage_service.store.store import Store

log = logging.getLogger(__name__)
YIELD_EVERY = 8  # officer messages sent between giving way to requests and wake-ups
# The longest one broadcast gives way in all: under a steady load it is late by at most this.
GIVE_WAY_BUDGET_S = 0.02


class QueueNews:
    """The queue's news for this instance's sockets, and what each officer was last told."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        clock: Clock,
        *,
        phone_fallback: str,
        fallback_after_s: Mapping[int, int] | None = None,
        areas: AreaDirectory | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.store = store
        # What the broadcast gives way to (this instance's requests and wake-ups), and how
        # long the broadcast under way has given way.
        self.foreground = foreground or Foreground()
        self.gave_way_s = 0.0
        self.hub = hub
        self.clock = clock
        self.phone_fallback = phone_fallback
        self.areas = areas
        self.fallback_after_s: Mapping[int, int] = fallback_after_s or {}
        self.queue_dirty = asyncio.Event()
        # request id → its officer, creation, expiry and priority: none of them change.
        self.owners: dict[str, Waiting] = {}
        # request id → (position, clinicians on duty, fallback reason) its officer was last told.
        self.told: dict[str, WaitingState] = {}

    async def _send_full(
        self, user_id: str, record: Request, placed: tuple[WaitingPlace, int] | None = None
    ) -> None:
        """The whole request to `user_id` if connected here and entitled to it; with `placed`
        (its place and the time it was computed at, by a queue broadcast), without reading
        its place from the store again."""
        if not user_id or not self.hub.is_connected(user_id):
            return
        sockets = self.hub.by_user[user_id]
        viewer = self.hub.users[next(iter(sockets))]
        if viewer.role is Role.CLINICIAN and not records.is_assigned(viewer, record):
            return  # already told through the staff summary
        now = placed[1] if placed else self.clock()
        if not records.may_see(viewer, record, now):
            return
        options: dict[str, Any] = {
            "phone_fallback": self.phone_fallback,
            "now_ms": now,
            "fallback_after_s": self.fallback_after_s,
            "areas": self.areas,
        }
        if placed:
            shaped = records.shape_placed(record, viewer, placed[0], **options)
        else:
            shaped = await records.shape_for(self.store, record, viewer, **options)
        if viewer.role is Role.OFFICER and shaped.position is not None:
            reason = shaped.fallback.reason if shaped.fallback else None
            self.told[record.id] = (shaped.position, shaped.clinicians_on_duty or 0, reason)
        # Encoded by the model itself (twice as fast as a dict through `json.dumps`).
        await self.hub.send_text_to_user(
            user_id, f'{{"type":"request.updated","request":{shaped.model_dump_json()}}}'
        )

    async def broadcast_queue(self) -> None:
        """Send `queue.changed` to staff (the requests each sees: a board-limited one only
        those of their boards), and each waiting officer their position and honest wait
        from the clinicians the request is offered to; an officer whose position, clinicians
        on duty or fallback changed also gets the whole request (`request.updated`)."""
        now, self.gave_way_s = self.clock(), 0.0
        ids, queue = await self.store.requests.queue()
        owners = await self._owners(ids)
        base = queue_counts(owners, now)
        await self._tell_staff(owners, base, now)
        history = {
            board: await self._estimator(board, queue, now)
            for board in {w.offered_board(now) for w in owners}
        }
        changed = await self._tell_officers(ids, owners, base, history, now)
        await self._send_changed(changed, now)
        self.told = {rid: told for rid, told in self.told.items() if rid in self.owners}

    async def _tell_staff(self, owners: list[Waiting], base: dict[str, Any], now: int) -> None:
        """`queue.changed` to clinicians and supervisors: everyone's counts to those of every
        board; to those limited to boards, the counts of the requests they see."""
        for role in (Role.CLINICIAN, Role.SUPERVISOR):
            await self.hub.send_to_role(role, base, where=lambda user: not user.boards)
            for boards in {u.boards for u in self.hub.users_of(role) if u.boards}:
                viewer = User(id="", username="", display_name="", role=role, boards=boards)
                seen = [w for w in owners if w.seen_by(viewer, now)]
                await self.hub.send_to_role(role, queue_counts(seen, now), where=_of(boards))

    async def _estimator(self, board: str, queue: QueueState, now: int) -> Estimator:
        """What the waits of requests offered within `board` (empty: to everyone) are
        estimated from: the recent history and the clinicians they are offered to."""
        waits = sorted(ms / 1000 for ms in queue.waits_ms)
        sessions = sorted(ms / 1000 for ms in queue.sessions_ms)
        if board:
            staff = await staffing(self.store, now_ms=now, board=board)
            return Estimator(waits, sessions, staff.available, staff.busy, staff.on_duty)
        return Estimator(
            waits,
            sessions,
            queue.states.count(Availability.AVAILABLE.value),
            queue.states.count(Availability.BUSY.value),
            await clinicians_on_duty(self.store, now_ms=now),
        )

    async def _tell_officers(
        self,
        ids: list[str],
        owners: list[Waiting],
        base: dict[str, Any],
        histories: dict[str, Estimator],
        now: int,
    ) -> dict[str, WaitingPlace]:
        """Each connected officer's `queue.changed`; the place of each request whose officer
        must hear the whole request (its position, clinicians on duty or fallback changed)."""
        changed: dict[str, WaitingPlace] = {}
        # What every officer's `queue.changed` shares is encoded once; each adds its own four
        # numbers (json.dumps's own text for each, so the message is what it always was).
        shared = json.dumps(base)[:-1]
        for position, (request_id, waiting) in enumerate(zip(ids, owners, strict=True), 1):
            if not self.hub.is_connected(waiting.officer_id):
                continue
            history = histories[waiting.offered_board(now)]
            place = WaitingPlace(
                position, history.estimate(position, waiting, now), history.on_duty
            )
            await self.hub.send_text_to_user(
                waiting.officer_id,
                f'{shared}, "request_id": {_text(request_id)}, "position": {position}, '
                f'"estimated_wait_s": {_number(place.estimate_s)}, '
                f'"clinicians_on_duty": {place.on_duty}}}',
            )
            reason = fallback_reason(
                status="waiting",
                clinicians_on_duty=history.on_duty,
                waited_s=(now - waiting.created_ms) / 1000,
                fallback_after_s=self.fallback_after_s.get(waiting.priority),
            )
            if self.told.get(request_id) != (position, history.on_duty, reason):
                changed[request_id] = place
            if position % YIELD_EVERY == 0:
                await self._give_way()
        return changed

    async def _send_changed(self, places: dict[str, WaitingPlace], now: int) -> None:
        """The whole request, with the place just told, to each officer whose waiting state
        changed: every record read in one round trip, and no place read again, so a change
        costs the same few round trips however many officers wait."""
        if not places:
            return
        found = await records.load_many(self.store, list(places))
        for sent, record in enumerate(found, 1):
            if record.status is RequestStatus.WAITING:
                await self._send_full(record.officer_id, record, (places[record.id], now))
            if sent % YIELD_EVERY == 0:
                await self._give_way()

    async def _give_way(self) -> None:
        """Let the requests and wake-ups being served go first, within the budget left."""
        self.gave_way_s += await self.foreground.give_way(GIVE_WAY_BUDGET_S - self.gave_way_s)

    async def _owners(self, ids: list[str]) -> list[Waiting]:
        """Officer, creation, expiry and priority of each request, read from Redis only once."""
        missing = [request_id for request_id in ids if request_id not in self.owners]
        if missing:
            found = await self.store.requests.queued(missing)
            for request_id, row in zip(missing, found, strict=True):
                self.owners[request_id] = Waiting(
                    row.officer_id,
                    row.created_ms,
                    row.expire_ms,
                    row.priority,
                    row.board,
                    row.overflow_ms,
                )
        self.owners = {request_id: self.owners[request_id] for request_id in ids}
        return list(self.owners.values())


def _of(boards: tuple[str, ...]) -> Callable[[User], bool]:
    """Whether a user covers exactly these boards."""
    return lambda user: user.boards == boards


def queue_counts(seen: list[Waiting], now_ms: int) -> dict[str, Any]:
    """`queue.changed` for someone who sees these waiting requests: how many, and the
    longest wait among them."""
    oldest = min((w.created_ms for w in seen), default=None)
    return {
        "type": "queue.changed",
        "waiting": len(seen),
        "longest_wait_s": round((now_ms - oldest) / 1000, 1) if oldest else 0.0,
    }


def _text(value: str) -> str:
    """A JSON string, as json.dumps writes it (a request id is plain hex: as it is)."""
    return f'"{value}"' if value.isalnum() and value.isascii() else json.dumps(value)


def _number(value: float | None) -> str:
    """A JSON number or null, as json.dumps writes it (a finite float: its repr)."""
    if value is None:
        return "null"
    return repr(value) if math.isfinite(value) else json.dumps(value)
