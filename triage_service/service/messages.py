"""Chat messages, stored with the request record (oldest first)."""

from __future__ import annotations

import secrets

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import AuthorOut, MessageOut
from triage_service.domain.codes import Role
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.store import Refused, RequestRecord, Store
from triage_service.store.wakes import ChatWake


def is_participant(user: User, record: RequestRecord) -> bool:
    """The owner officer and the assigned clinician take part in a request's chat."""
    if user.role is Role.OFFICER:
        return record["officer_id"] == user.id
    return user.role is Role.CLINICIAN and record.get("clinician_id") == user.id


async def post_message(
    store: Store,
    record: RequestRecord,
    author: User,
    text: str,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> MessageOut:
    """Append a message to an open (waiting or in-session) request's chat and wake its
    participants; a repeated idempotency key answers the first message and adds none."""
    message = MessageOut(
        id=secrets.token_hex(8),
        request_id=record["id"],
        author=AuthorOut(id=author.id, display_name=author.display_name, role=author.role.value),
        text=text,
        created_at=to_datetime(now_ms),
    )
    try:
        return await _append(store, message, now_ms, open_only=True, idempotency=idempotency)
    except Refused as e:
        if e.code == "idempotency_key_reused":
            raise idem.reused() from e
        if e.code == "not_found":
            raise NotFound() from e
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
        idempotency=idempotency,
    )
    return MessageOut.model_validate_json(stored)
