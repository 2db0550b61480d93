"""Wake-ups: the messages published on the `wake` channel, as typed objects.

Pub/sub only wakes: each instance re-reads the truth from Redis before telling its sockets
(live/wakeups.py). Python publishes through `Store.publish(wake)`; the lifecycle scripts
publish `RequestWake`s themselves (`event()` in lua/_events.lua), in the shape documented on
that class. `parse` reads any of them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class RequestWake:
    """A lifecycle step changed a request; published by Lua `event()` as
    `{"type": kind, "request_id": id, "actor": user id or "system"}`, where kind is created,
    accepted, cancelled, released, expired, completed, referral_opened or
    referral_{status}."""

    kind: str
    request_id: str
    actor: str | None = None

    def to_json(self) -> str:
        """The wake-up as published (the Lua scripts publish the same shape)."""
        return json.dumps({"type": self.kind, "request_id": self.request_id, "actor": self.actor})


@dataclass(frozen=True, slots=True)
class ChatWake:
    """A chat message was posted; it travels with the wake-up so live clients need not re-read
    the whole chat."""

    request_id: str
    message: dict[str, Any]  # MessageOut, as JSON

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps(
            {"type": "message", "request_id": self.request_id, "message": self.message}
        )


@dataclass(frozen=True, slots=True)
class SignalWake:
    """WebRTC signalling relayed from one party of a call to another (participant `to`).

    `peer` is the sender's participant id when the signal was addressed to one participant
    (a call of more than two); empty for the officer-clinician pair's own signalling."""

    to: str
    request_id: str
    from_role: str
    data: Any
    peer: str = ""

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps(
            {
                "type": "signal",
                "to": self.to,
                "request_id": self.request_id,
                "from_role": self.from_role,
                "data": self.data,
                "peer": self.peer,
            }
        )


@dataclass(frozen=True, slots=True)
class PushWake:
    """A message for a few participants' sockets as it stands (a consult offer, the call's
    people changed): it carries no truth, the pages re-read it over REST."""

    to: tuple[str, ...]
    request_id: str
    message: dict[str, Any]

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps(
            {
                "type": "push",
                "to": list(self.to),
                "request_id": self.request_id,
                "message": self.message,
            }
        )


@dataclass(frozen=True, slots=True)
class AvailabilityWake:
    """A clinician's availability changed (the queue's estimates change with it)."""

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps({"type": "availability", "request_id": ""})


@dataclass(frozen=True, slots=True)
class FallbackWake:
    """A waiting request reached its fallback time: its officer must be offered the phone."""

    request_id: str

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps({"type": "fallback", "request_id": self.request_id})


@dataclass(frozen=True, slots=True)
class AlarmWake:
    """An alarm was raised or acknowledged; published by `lua/alarm_raise.lua` and
    `lua/alarm_ack.lua` as `{"type": "alarm", "alarm_id": id}`."""

    alarm_id: str

    def to_json(self) -> str:
        """The wake-up as published (the alarm scripts publish the same shape)."""
        return json.dumps({"type": "alarm", "alarm_id": self.alarm_id})


@dataclass(frozen=True, slots=True)
class ReferralWake:
    """A referral was opened or changed status; published by `lua/outcome.lua` and
    `lua/referral_update.lua` as `{"type": "referral", "referral_id": id}`."""

    referral_id: str

    def to_json(self) -> str:
        """The wake-up as published (the referral scripts publish the same shape)."""
        return json.dumps({"type": "referral", "referral_id": self.referral_id})


@dataclass(frozen=True, slots=True)
class SessionEndedWake:
    """Sign-in sessions ended (signed out, account disabled, new role or password): every
    instance closes the sockets opened under them."""

    tokens: tuple[str, ...]

    def to_json(self) -> str:
        """The wake-up as published."""
        return json.dumps({"type": "session_ended", "tokens": list(self.tokens)})


@dataclass(frozen=True, slots=True)
class TransferWake:
    """A transfer offer was made (`offered`, to the colleague) or ended (`accepted`,
    `declined`, `lapsed`, to both clinicians); published by lua/_transfers.lua and
    lua/transfer_offer.lua with the two clinicians' ids and names (`names`)."""

    request_id: str
    state: str
    to: tuple[str, ...]
    names: dict[str, str]

    def to_json(self) -> str:
        """The wake-up as published (the transfer scripts publish the same shape)."""
        return json.dumps(
            {
                "type": "transfer",
                "request_id": self.request_id,
                "state": self.state,
                "to": list(self.to),
                **self.names,
            }
        )


TRANSFER_NAMES = ("from_id", "from_name", "colleague_id", "colleague_name")

Wake: TypeAlias = (
    SessionEndedWake
    | RequestWake
    | ChatWake
    | SignalWake
    | PushWake
    | AvailabilityWake
    | FallbackWake
    | AlarmWake
    | ReferralWake
    | TransferWake
)


def parse(data: str) -> Wake | None:
    """The wake-up published as `data`; None when it is malformed."""
    try:
        raw = json.loads(data)
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    try:
        return _parse(raw)
    except (KeyError, TypeError):
        return None


def _parse(raw: dict[str, Any]) -> Wake | None:
    kind, request_id = raw.get("type"), raw.get("request_id")
    if kind == "availability":
        return AvailabilityWake()
    if kind == "session_ended":
        tokens = raw["tokens"]
        if not isinstance(tokens, list):
            return None
        return SessionEndedWake(tuple(t for t in tokens if isinstance(t, str)))
    if kind == "alarm":
        return AlarmWake(_str(raw["alarm_id"]))
    if kind == "referral":
        return ReferralWake(_str(raw["referral_id"]))
    if not isinstance(kind, str) or not isinstance(request_id, str):
        return None
    if kind in ("signal", "transfer", "push"):
        return _addressed(kind, raw, request_id)
    if kind == "fallback":
        return FallbackWake(request_id)
    if kind == "message":
        message = raw["message"]
        return ChatWake(request_id, message) if isinstance(message, dict) else None
    actor = raw.get("actor")
    return RequestWake(kind, request_id, actor if isinstance(actor, str) else None)


def _addressed(kind: str, raw: dict[str, Any], request_id: str) -> Wake | None:
    """A wake-up for some users only: call signalling, news of a transfer, or a push for
    some of a call's participants."""
    if kind == "signal":
        peer = raw.get("peer")
        return SignalWake(
            _str(raw["to"]),
            request_id,
            _str(raw["from_role"]),
            raw["data"],
            peer if isinstance(peer, str) else "",
        )
    if kind == "push":
        to, message = raw["to"], raw["message"]
        if not isinstance(to, list) or not isinstance(message, dict):
            return None
        return PushWake(tuple(t for t in to if isinstance(t, str)), request_id, message)
    names = {k: _str(raw.get(k) or "") for k in TRANSFER_NAMES}
    return TransferWake(request_id, _str(raw["state"]), tuple(map(_str, raw["to"])), names)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value
