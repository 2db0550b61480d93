"""The live channel's hub: this instance's open sockets, and sending to users and roles.

Truth stays in Redis; wake-ups arrive over pub/sub (see `live.wakeups`) and the hub turns them
into messages for exactly the users entitled to them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from triage_service.domain.codes import Role
from triage_service.domain.users import User

log = logging.getLogger(__name__)
GOING_AWAY = 1001  # WebSocket close code: the server is going down
SESSION_ENDED = 4401  # WebSocket close code: the sign-in session is over (signed out, expired)
SERVICE_RESTART = 1012  # WebSocket close code: this instance stops; reconnect (elsewhere)
TOO_MANY_SOCKETS = 4429  # WebSocket close code: the user has too many sockets open here


class Socket(Protocol):
    """An open WebSocket as the hub uses it (aiohttp's `WebSocketResponse` is one)."""

    @property
    def closed(self) -> bool: ...

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int, message: bytes) -> bool: ...


class Hub:
    """The WebSocket connections open on this instance, indexed by user and by role."""

    def __init__(self) -> None:
        self.by_user: dict[str, set[Socket]] = {}
        self.by_role: dict[Role, set[Socket]] = {role: set() for role in Role}
        self.users: dict[Socket, User] = {}
        self.leases: dict[Socket, str] = {}
        # Renewals and drops of this instance's leases take turns: a renewal that read a lease
        # before its socket closed must not land after the lease was dropped (it would bring
        # the lease back and cancel the grace timer the drop started).
        self.lease_turns = asyncio.Lock()

        self.by_session: dict[str, set[Socket]] = {}
        self.sessions: dict[Socket, str] = {}
        self.guests: set[Socket] = set()  # guest pages' sockets (no account, no role)

    def add(self, ws: Socket, user: User, session: str = "", *, lease: str | None = None) -> None:
        """Track a newly opened socket, opened under sign-in session token `session` (and the
        presence lease it holds, if any)."""
        self.by_user.setdefault(user.id, set()).add(ws)
        self.by_role[user.role].add(ws)
        self.users[ws] = user
        self.sessions[ws] = session
        self.by_session.setdefault(session, set()).add(ws)
        if lease is not None:
            self.leases[ws] = lease

    def add_guest(self, ws: Socket, guest_id: str) -> None:
        """Track a guest page's socket: messages to the guest's id reach it."""
        self.by_user.setdefault(guest_id, set()).add(ws)
        self.guests.add(ws)

    def discard_guest(self, ws: Socket, guest_id: str) -> None:
        """Forget a guest page's closed socket."""
        self.guests.discard(ws)
        sockets = self.by_user.get(guest_id, set())
        sockets.discard(ws)
        if not sockets:
            self.by_user.pop(guest_id, None)

    def held_leases(self) -> list[tuple[str, str]]:
        """`(user id, lease)` of every socket here that holds a presence lease."""
        return [(self.users[ws].id, lease) for ws, lease in self.leases.items()]

    def discard(self, ws: Socket) -> User | None:
        """Forget a closed socket; return its user."""
        user = self.users.pop(ws, None)
        self.leases.pop(ws, None)
        if user is None:
            return None
        session = self.sessions.pop(ws, "")
        same_session = self.by_session.get(session, set())
        same_session.discard(ws)
        if not same_session:
            self.by_session.pop(session, None)
        self.by_role[user.role].discard(ws)
        sockets = self.by_user.get(user.id, set())
        sockets.discard(ws)
        if not sockets:
            self.by_user.pop(user.id, None)
        return user

    def sockets_of(self, user_id: str) -> int:
        """How many sockets the user has open on this instance."""
        return len(self.by_user.get(user_id, ()))

    def is_connected(self, user_id: str) -> bool:
        """Whether the user has a socket open on this instance."""
        return user_id in self.by_user

    def has_role(self, role: Role) -> bool:
        """Whether anyone of `role` is connected to this instance."""
        return bool(self.by_role[role])

    def users_of(self, *roles: Role) -> list[User]:
        """The users of these roles connected to this instance (once per socket)."""
        return [self.users[ws] for role in roles for ws in self.by_role[role]]

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        """Send to every socket of one user on this instance."""
        await self._send(self.by_user.get(user_id, ()), json.dumps(message))

    async def send_text_to_user(self, user_id: str, text: str) -> None:
        """Send a message already encoded as JSON to every socket of one user here."""
        await self._send(self.by_user.get(user_id, ()), text)

    async def send_to_role(
        self,
        role: Role,
        message: dict[str, Any],
        *,
        exclude: set[str] | frozenset[str] = frozenset(),
        where: Callable[[User], bool] | None = None,
    ) -> None:
        """Send to every socket of a role on this instance, except users in `exclude` (and,
        with `where`, users it refuses)."""
        sockets = self.by_role[role]
        if exclude or where:
            sockets = {
                ws
                for ws in sockets
                if self.users[ws].id not in exclude and (where is None or where(self.users[ws]))
            }
        await self._send(sockets, json.dumps(message))

    async def send_to_team(self, team: str, message: dict[str, Any]) -> None:
        """Send to every socket here of the receivers in `team`."""
        sockets = {ws for ws in self.by_role[Role.RECEIVER] if self.users[ws].team == team}
        await self._send(sockets, json.dumps(message))

    async def send_to_all(self, message: dict[str, Any]) -> None:
        """Send to every socket on this instance."""
        await self._send(self.users, json.dumps(message))

    async def close_sessions(self, tokens: list[str]) -> None:
        """Close every socket opened under one of these (ended) sign-in sessions."""
        for token in tokens:
            for ws in list(self.by_session.get(token, ())):
                await ws.close(code=SESSION_ENDED, message=b"session ended")

    async def close_all(self) -> None:
        """Close every socket with SERVICE_RESTART (this instance is stopping: the client
        reconnects, through the load balancer to another instance)."""
        for ws in [*self.users, *self.guests]:
            await ws.close(code=SERVICE_RESTART, message=b"service restart")

    async def _send(self, sockets: Any, text: str) -> None:
        for ws in list(sockets):
            if ws.closed:
                continue
            try:
                await ws.send_str(text)
            except (ConnectionResetError, RuntimeError) as e:
                log.debug("dropping message to a closing socket: %s", e)
