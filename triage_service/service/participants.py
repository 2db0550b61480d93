"""The people in a call: its officer and clinician, and up to two more, consultants (colleagues
on duty asked to join) and guests (admitted by a single-use link, `service/guests.py`).

Redis is the truth for who is in the call; signalling and chat go to people in it only, and
only while the request is in session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage_service.domain.codes import RequestStatus, Role
from triage_service.domain.errors import Conflict, Invalid, NotFound
from triage_service.domain.users import User
from triage_service.service import records
from triage_service.service.accounts import get_user
from triage_service.service.audit import record_access
from triage_service.service.messages import post_system_note
from triage_service.store import Request, Store
from triage_service.store.wakes import PushWake, SignalWake

MAX_IN_CALL = 4  # the officer, the clinician and two more: a mesh of six connections at most
CONSULTANT = "consultant"
GUEST = "guest"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in a call, as every other participant sees them (no account details)."""

    id: str
    role: str  # officer, clinician, consultant or guest
    display_name: str
    guest_role: str | None = None  # a guest's: interpreter, person or other

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the pages read."""
        found: dict[str, Any] = {
            "id": self.id,
            "role": self.role,
            "display_name": self.display_name,
        }
        if self.guest_role:
            found["guest_role"] = self.guest_role
        return found


def in_session(record: Request) -> bool:
    """Whether the request's call is running."""
    return record.status == RequestStatus.IN_SESSION


async def people(store: Store, record: Request) -> list[Person]:
    """Everyone in the call now: the officer, the clinician, then consultants and guests."""
    found = [Person(record.officer_id, "officer", record.officer_name)]
    if record.clinician_id:
        found.append(Person(record.clinician_id, "clinician", (record.clinician_name or "")))
    if not in_session(record):
        return found
    extra = await store.participants.present(record.id)
    named = {p.id for p in found}  # a consultant who took the call over is its clinician now
    found += [_person(raw) for raw in extra.values() if raw["id"] not in named]
    return found


async def everyone(store: Store, record: Request) -> list[Person]:
    """Everyone ever in the call: its officer and clinician, then every consultant and
    guest added, those who left included (what the record keeps)."""
    found = [Person(record.officer_id, "officer", record.officer_name)]
    if record.clinician_id:
        found.append(Person(record.clinician_id, "clinician", (record.clinician_name or "")))
    history = await store.participants.history(record.id)
    return found + [_person(raw) for raw in history.values()]


def _person(raw: dict[str, Any]) -> Person:
    return Person(raw["id"], raw["role"], raw["display_name"], raw.get("guest_role"))


async def role_in_call(store: Store, record: Request, person_id: str) -> str | None:
    """The role of `person_id` in the running call, or None if they are not in it."""
    if not in_session(record):
        return None
    if person_id == record.officer_id:
        return "officer"
    if person_id == record.clinician_id:
        return "clinician"
    raw = (await store.participants.present(record.id)).get(person_id)
    return str(raw["role"]) if raw else None


async def is_consultant(store: Store, record: Request, user: User) -> bool:
    """Whether `user` is a consultant in the request's running call."""
    return user.role is Role.CLINICIAN and await role_in_call(store, record, user.id) == CONSULTANT


async def tell_everyone(store: Store, record: Request, *, also: tuple[str, ...] = ()) -> None:
    """Wake every page in the call (and `also`): the people in it changed; they re-read."""
    to = tuple(dict.fromkeys([p.id for p in await people(store, record)] + list(also)))
    message = {"type": "participants.changed", "request_id": record.id}
    await store.publish(PushWake(to, record.id, message))


async def ask_consultant(
    store: Store, record: Request, by: User, to: str, *, now_ms: int
) -> Person:
    """Ask a colleague on duty who covers the request's board to join the running call."""
    if not in_session(record):
        raise Conflict("not_in_session", "Only a call in session can take a consultant.")
    colleague = await _colleague(store, record, to)
    if colleague.id == by.id or colleague.id == record.clinician_id:
        raise _bad_to("is the session's own clinician")
    person = Person(colleague.id, CONSULTANT, colleague.display_name)
    added = await store.participants.add(
        record.id, {**person.as_dict(), "added_ms": now_ms}, limit=MAX_IN_CALL - 2
    )
    if not added:
        raise Conflict("call_full", f"A call takes at most {MAX_IN_CALL} people.")
    await store.participants.offer(colleague.id, record.id)
    await record_access(
        store, by, action="consult_started", now_ms=now_ms, request_id=record.id,
        extra={"account_id": colleague.id},
    )  # fmt: skip
    await post_system_note(
        store, record.id, f"{colleague.display_name} was asked to join as a consultant.",
        now_ms=now_ms,
    )  # fmt: skip
    offer = {
        "type": "consult.offered",
        "request_id": record.id,
        "from": {"id": by.id, "display_name": by.display_name},
    }
    await store.publish(PushWake((colleague.id,), record.id, offer))
    await tell_everyone(store, record)
    return person


async def _colleague(store: Store, record: Request, user_id: str) -> User:
    user = await get_user(store, user_id) if len(user_id) <= 64 else None
    if user is None or user.role is not Role.CLINICIAN:
        raise _bad_to("is not a clinician's account")
    board = record.board or ""
    if user.boards and board and board not in user.boards:
        raise _bad_to("does not cover this request's board")
    if not await store.participants.on_duty(user.id):
        raise _bad_to("is not on duty (available or busy, with the console open)")
    return user


def _bad_to(problem: str) -> Invalid:
    return Invalid("invalid_consultant", f"That colleague {problem}.", {"to": problem})


async def end_consult(
    store: Store, record: Request, by: User, consultant_id: str, *, now_ms: int
) -> None:
    """Take a consultant out of the call (the session's clinician, or the consultant leaving)."""
    present = await store.participants.present(record.id)
    raw = present.get(consultant_id)
    if raw is None or raw["role"] != CONSULTANT:
        raise NotFound("consultant")
    await store.participants.remove(record.id, consultant_id)
    await store.participants.withdraw(consultant_id, record.id)
    await store.participants.note_history(record.id, {**raw, "left_ms": now_ms})
    await record_access(
        store, by, action="consult_ended", now_ms=now_ms, request_id=record.id,
        extra={"account_id": consultant_id},
    )  # fmt: skip
    await post_system_note(store, record.id, f"{raw['display_name']} left the call.", now_ms=now_ms)
    await tell_everyone(store, record, also=(consultant_id,))


async def relay_signal(
    store: Store, record: Request, sender_id: str, to: object, data: object
) -> str | None:
    """Relay signalling from one participant of the running call to another; why not, if
    refused."""
    if not isinstance(to, str) or len(to) > 64:
        return "Address a signal to a participant id."
    sender_role = await role_in_call(store, record, sender_id)
    if sender_role is None:
        return "You are not in this call."
    if to == sender_id or await role_in_call(store, record, to) is None:
        return "That participant is not in this call."
    await store.publish(SignalWake(to=to, request_id=record.id, from_role=sender_role,
                                   data=data, peer=sender_id))  # fmt: skip
    return None


async def pending_consults(store: Store, user: User) -> list[str]:
    """The running calls a clinician is asked to join (offers of ended calls are dropped)."""
    found = []
    for request_id in await store.participants.offers(user.id):
        record = await records.load(store, request_id)
        if record is not None and await role_in_call(store, record, user.id) == CONSULTANT:
            found.append(request_id)
        else:
            await store.participants.withdraw(user.id, request_id)
    return found


async def colleagues_on_duty(store: Store, record: Request, me: User) -> list[Person]:
    """The colleagues the session's clinician may ask to consult now: clinicians on duty
    covering the request's board, not already in the call."""
    taken = {p.id for p in await people(store, record)} | {me.id}
    found = []
    for user_id in await store.participants.clinicians_with_a_socket():
        if user_id in taken or not await store.participants.on_duty(user_id):
            continue
        user = await get_user(store, user_id)
        board = record.board or ""
        if user is None or user.role is not Role.CLINICIAN:
            continue
        if not user.boards or not board or board in user.boards:
            found.append(Person(user.id, "clinician", user.display_name))
    return sorted(found, key=lambda p: p.display_name)
