"""Guests in a call (an interpreter, the person's own phone, a social worker): a single-use
link made by the session's clinician admits one guest page, with no account, to the call and
the chat only, until the session ends, the link's expiry or its revocation.

Only the SHA-256 of the link's token is kept (a lapsing Redis key), and it is taken atomically
on first use; the guest page then holds a cookie of its own, also kept only as a hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from triage_service.domain.answers import AuthorOut, MessageOut
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.participants import GuestForm
from triage_service.domain.users import User
from triage_service.service import messages, records
from triage_service.service.audit import record_access
from triage_service.service.participants import GUEST, MAX_IN_CALL, in_session, tell_everyone
from triage_service.store import Request, Store

LINK_MAX_S = 4 * 3600  # a link lasts until the session ends, and never longer than this


def digest(token: str) -> str:
    """What is kept of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Invitation:
    """A new guest link: the token appears here once and is never stored."""

    guest_id: str
    token: str
    expires_ms: int


class GuestRefused(Exception):
    """The link or the guest page may not (or no longer) join; `reason` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Guest:
    """An admitted guest and the request whose call they are in."""

    id: str
    display_name: str
    role: str
    record: Request
    joined_ms: int = 0


async def invite(
    store: Store, record: Request, by: User, form: GuestForm, *, now_ms: int
) -> Invitation:
    """Make a single-use link for a guest in the running call (`form.expires_in_s`: sooner)."""
    if not in_session(record):
        raise Conflict("not_in_session", "Only a call in session can take a guest.")
    if len(await store.participants.present(record.id)) >= MAX_IN_CALL - 2:
        raise Conflict("call_full", f"A call takes at most {MAX_IN_CALL} people.")
    lifetime_s = min(form.expires_in_s or LINK_MAX_S, LINK_MAX_S)
    guest_id, token = "g" + secrets.token_hex(8), secrets.token_urlsafe(32)
    expires_ms = now_ms + lifetime_s * 1000
    guest = {
        "id": guest_id,
        "request_id": record.id,
        "display_name": form.display_name,
        "role": form.role,
        "expires_ms": str(expires_ms),
        "state": "invited",
        "token_hash": digest(token),
        "invited_by": by.id,
    }
    await store.participants.save_guest(guest, digest(token), expires_ms - now_ms)
    await record_access(
        store, by, action="guest_invited", now_ms=now_ms, request_id=record.id,
        detail=f"{guest_id}: {form.display_name} ({form.role})",
    )  # fmt: skip
    text = f"{form.display_name} ({form.role}) was invited to the call as a guest."
    await messages.post_system_note(store, record.id, text, now_ms=now_ms)
    return Invitation(guest_id, token, expires_ms)


async def revoke(store: Store, record: Request, by: User, guest_id: str, *, now_ms: int) -> None:
    """End a guest's link (and their part in the call, if they joined)."""
    guest = await store.participants.guest(guest_id) if len(guest_id) <= 64 else None
    if guest is None or guest["request_id"] != record.id:
        raise NotFound("guest")
    await store.participants.drop_token(guest["token_hash"])
    await store.participants.update_guest(guest_id, {"state": "revoked"})
    await store.participants.remove(record.id, guest_id)
    await record_access(
        store, by, action="guest_revoked", now_ms=now_ms, request_id=record.id,
        detail=f"{guest_id}: {guest['display_name']} ({guest['role']})",
    )  # fmt: skip
    text = f"The guest link of {guest['display_name']} was revoked."
    await messages.post_system_note(store, record.id, text, now_ms=now_ms)
    await tell_everyone(store, record, also=(guest_id,))


async def admit(store: Store, token: str, *, now_ms: int) -> Guest:
    """Take a link's token (once) and put its guest in the call; `GuestRefused` otherwise."""
    guest_id = await store.participants.redeem(digest(token)) if len(token) <= 128 else None
    guest = await store.participants.guest(guest_id) if guest_id else None
    if guest is None:
        raise GuestRefused("This link has been used already, was withdrawn or has expired.")
    record = await records.load(store, guest["request_id"])
    if guest["state"] != "invited" or now_ms >= int(guest["expires_ms"]):
        raise GuestRefused("This link was withdrawn or has expired.")
    if record is None or not in_session(record):
        raise GuestRefused("The call this link was for has ended.")
    person = {"id": guest["id"], "role": GUEST, "display_name": guest["display_name"],
              "guest_role": guest["role"], "added_ms": now_ms}  # fmt: skip
    if not await store.participants.add(record.id, person, limit=MAX_IN_CALL - 2):
        raise GuestRefused(f"The call is full: it takes at most {MAX_IN_CALL} people.")
    await store.participants.update_guest(
        guest["id"], {"state": "joined", "joined_ms": str(now_ms)}
    )
    await _log(store, guest, "guest_joined", now_ms)
    text = f"{guest['display_name']} ({guest['role']}) joined the call as a guest."
    await messages.post_system_note(store, record.id, text, now_ms=now_ms)
    await tell_everyone(store, record)
    return Guest(guest["id"], guest["display_name"], guest["role"], record, now_ms)


async def _log(store: Store, guest: dict[str, str], action: str, now_ms: int) -> None:
    """An access entry with the guest as the actor (role `guest`)."""
    await store.audit.append(
        [
            {
                "at": now_ms,
                "user_id": guest["id"],
                "role": GUEST,
                "action": action,
                "request_id": guest["request_id"],
                "detail": f"{guest['display_name']} ({guest['role']})",
            }
        ]
    )


async def open_page_session(store: Store, guest: Guest, *, now_ms: int) -> tuple[str, str]:
    """A cookie token and a CSRF token for an admitted guest's page (kept as a hash)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    raw = await store.participants.guest(guest.id) or {}
    ttl_ms = int(raw.get("expires_ms", now_ms)) - now_ms
    await store.participants.open_guest_session(digest(cookie), f"{guest.id} {csrf}", ttl_ms)
    return cookie, csrf


async def guest_of_page(store: Store, cookie: str, *, now_ms: int) -> tuple[Guest, str] | None:
    """The guest (still in a running call) a guest page's cookie belongs to, with its CSRF
    token; None once revoked, expired, left or the session ended."""
    held = await store.participants.guest_of_session(digest(cookie)) if len(cookie) <= 128 else None
    if held is None:
        return None
    guest_id, csrf = held.split(" ", 1)
    guest = await store.participants.guest(guest_id)
    if guest is None or guest["state"] != "joined" or now_ms >= int(guest["expires_ms"]):
        return None
    record = await records.load(store, guest["request_id"])
    if record is None or not in_session(record):
        return None
    if guest_id not in await store.participants.present(record.id):
        return None
    joined_ms = int(guest.get("joined_ms", "0"))
    return Guest(guest_id, guest["display_name"], guest["role"], record, joined_ms), csrf


async def leave(store: Store, guest: Guest, *, now_ms: int) -> None:
    """The guest leaves the call; their page is signed out of it."""
    raw = await store.participants.guest(guest.id) or {}
    await store.participants.update_guest(guest.id, {"state": "left"})
    await store.participants.remove(guest.record.id, guest.id)
    await _log(store, {**raw, "id": guest.id}, "guest_left", now_ms)
    text = f"{guest.display_name} left the call."
    await messages.post_system_note(store, guest.record.id, text, now_ms=now_ms)
    await tell_everyone(store, guest.record, also=(guest.id,))


async def post_message(store: Store, guest: Guest, text: str, *, now_ms: int) -> MessageOut:
    """A chat message from a guest, stored with the record like any other."""
    author = AuthorOut(id=guest.id, display_name=guest.display_name, role=GUEST)
    return await messages.post_as(store, guest.record, author, text, now_ms=now_ms)


async def opened_with(store: Store, guest: Guest, token: str) -> bool:
    """Whether `token` is the link this guest joined by (their page reloading it)."""
    raw = await store.participants.guest(guest.id) or {}
    return raw.get("token_hash") == digest(token)


async def expires_ms(store: Store, guest: Guest) -> int:
    """When the guest's link lapses (the session may end sooner)."""
    raw = await store.participants.guest(guest.id) or {}
    return int(raw.get("expires_ms", "0"))


async def chat_since_joining(store: Store, guest: Guest) -> list[MessageOut]:
    """The chat from the moment the guest joined: what was said before is not theirs."""
    found = await messages.list_messages(store, guest.record.id)
    return [m for m in found if round(m.created_at.timestamp() * 1000) >= guest.joined_ms]
