"""Chat messages, stored with the request record (oldest first)."""

from __future__ import annotations

import secrets

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import AuthorOut, MessageOut
from triage_service.domain.codes import RequestStatus, Role
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.service.records import offered_to_user
from triage_service.store import Refused, Request, Store
from triage_service.store.wakes import ChatWake


def is_participant(user: User, record: Request) -> bool:
    """The owner officer and the assigned clinician take part in a request's chat."""
    if user.role is Role.OFFICER:
        return record.officer_id == user.id
    return user.role is Role.CLINICIAN and record.clinician_id == user.id


def may_post(user: User, record: Request, now_ms: int) -> bool:
    """The chat's participants post to it; a clinician covering the board (one the request is
    offered to) may also send its officer a message while it waits."""
    return is_participant(user, record) or waiting_message(user, record, now_ms)


def waiting_message(user: User, record: Request, now_ms: int) -> bool:
    """Whether `user` posts as a clinician covering a waiting request, not as a participant."""
    return (
        user.role is Role.CLINICIAN
        and not is_participant(user, record)
        and record.status == RequestStatus.WAITING
        and offered_to_user(user, record, now_ms)
    )


async def post_message(
    store: Store,
    record: Request,
    author: User,
    text: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> MessageOut:
    """Append a message to an open (waiting or in-session) request's chat and wake its
    participants; a repeated idempotency key answers the first message and adds none. A
    clinician's message to a waiting officer goes in only while the request still waits."""
    message = MessageOut(
        id=secrets.token_hex(8),
        request_id=record.id,
        author=AuthorOut(id=author.id, display_name=author.display_name, role=author.role.value),
        text=text,
        created_at=to_datetime(now_ms),
    )
    try:
        return await _append(
            store,
            message,
            now_ms,
            open_only=True,
            waiting_only=waiting_message(author, record, now_ms),
            idempotency=idempotency,
        )
    except Refused as e:
        if e.code == "idempotency_key_reused":
            raise idem.reused() from e
        if e.code == "not_found":
            raise NotFound() from e
        if e.code == "not_waiting":
            raise Conflict("not_waiting", f"The request is {e.status}; it no longer waits.") from e
        raise Conflict("request_closed", f"The request is {e.status}; the chat is closed.") from e


async def post_as(
    store: Store, record: Request, author: AuthorOut, text: str, *, now_ms: int
) -> MessageOut:
    """A message by someone with no account (a guest in the call) while the call runs."""
    message = MessageOut(
        id=secrets.token_hex(8),
        request_id=record.id,
        author=author,
        text=text,
        created_at=to_datetime(now_ms),
    )
    try:
        return await _append(store, message, now_ms, open_only=True)
    except Refused as e:
        raise Conflict("request_closed", f"The request is {e.status}; the chat is closed.") from e


async def post_system_note(store: Store, request_id: str, text: str, *, now_ms: int) -> MessageOut:
    """A note from the service itself (joined, left, mode changed)."""
    message = MessageOut(
        id=secrets.token_hex(8),
        request_id=request_id,
        author=AuthorOut(id="system", display_name="Triage service", role="system"),
        text=text,
        created_at=to_datetime(now_ms),
    )
    return await _append(store, message, now_ms)


async def list_messages(store: Store, request_id: str) -> list[MessageOut]:
    """All messages of a request, oldest first."""
    raw = await store.chat.messages(request_id)
    return [MessageOut.model_validate_json(item) for item in raw]


async def _append(
    store: Store,
    message: MessageOut,
    now_ms: int,
    *,
    open_only: bool = False,
    waiting_only: bool = False,
    idempotency: Idempotency | None = None,
) -> MessageOut:
    event: dict[str, str | int] = {
        "type": "message",
        "request_id": message.request_id,
        "actor": message.author.id,
        "role": message.author.role,
        "at": now_ms,
    }
    # The wake-up carries the message so live clients need not re-read the whole chat.
    wake = ChatWake(message.request_id, message.model_dump(mode="json"))
    stored, _ = await store.chat.append(
        message.request_id,
        message.model_dump_json(),
        event,
        wake,
        now_ms=now_ms,
        open_only=open_only,
        waiting_only=waiting_only,
        idempotency=idempotency,
    )
    return MessageOut.model_validate_json(stored)
