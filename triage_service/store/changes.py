"""The lifecycle scripts' arguments as typed objects: one frozen dataclass per script, whose
`argv()` says, in one place, which ARGV each field becomes.

`Store.change(call)` runs `call.script` with the key prefix and the time first (ARGV[1] and
ARGV[2]), then `call.argv()` (ARGV[3] on), then, for the scripts in `store.IDEMPOTENT`, the
idempotency key last. A script's header comment lists the same ARGV in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

Arg = str | int


class ScriptCall(Protocol):
    """The arguments of one lifecycle script."""

    script: ClassVar[str]

    def argv(self) -> list[Arg]:
        """The script's own ARGV, from ARGV[3] on."""
        ...


def _flag(value: bool) -> str:
    """A yes/no as the scripts read it: '1' or ''."""
    return "1" if value else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRequest:
    """Queue a new request (`lua/create.lua`): its stored fields, its timers (member: due
    ms), and the officer's idempotency key, kept `idempotency_ttl_s`."""

    script: ClassVar[str] = "create"
    request_id: str
    officer_id: str
    idempotency_key: str | None
    idempotency_ttl_s: int
    expire_ms: int
    fields: Mapping[str, Arg | float]
    timers: Mapping[str, int]
    per_minute: int = 0  # the officer's creates allowed a minute (0: no limit)

    def argv(self) -> list[Arg]:
        """id, officer_id, idem_key ('' for none), idem_ttl_s, expire_at_ms, fields JSON,
        timers JSON, per_minute ('' for no limit)."""
        return [
            self.request_id,
            self.officer_id,
            self.idempotency_key or "",
            self.idempotency_ttl_s,
            self.expire_ms,
            json.dumps(self.fields),
            json.dumps(self.timers),
            self.per_minute or "",
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequest:
    """The owner withdraws a waiting request (`lua/cancel.lua`); cancelled after
    `short_abandon_ms` unanswered, it counts as abandoned."""

    script: ClassVar[str] = "cancel"
    request_id: str
    officer_id: str
    short_abandon_ms: int

    def argv(self) -> list[Arg]:
        """id, officer_id, short_abandon_ms."""
        return [self.request_id, self.officer_id, self.short_abandon_ms]


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptRequest:
    """A clinician takes a waiting request (`lua/accept.lua`)."""

    script: ClassVar[str] = "accept"
    request_id: str
    clinician_id: str
    clinician_name: str

    def argv(self) -> list[Arg]:
        """id, clinician_id, clinician_name."""
        return [self.request_id, self.clinician_id, self.clinician_name]


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeNext:
    """A clinician takes the first waiting request offered to them (`lua/next.lua`)."""

    script: ClassVar[str] = "next"
    clinician_id: str
    clinician_name: str

    def argv(self) -> list[Arg]:
        """clinician_id, clinician_name."""
        return [self.clinician_id, self.clinician_name]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRequest:
    """Hand a request back to the queue at its place (`lua/release.lua`), with at least
    `min_remaining_ms` left before it expires."""

    script: ClassVar[str] = "release"
    request_id: str
    clinician_id: str
    reason: str
    min_remaining_ms: int
    actor_role: str

    def argv(self) -> list[Arg]:
        """id, clinician_id, reason, min_remaining_ms, actor_role."""
        return [
            self.request_id,
            self.clinician_id,
            self.reason,
            self.min_remaining_ms,
            self.actor_role,
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOutcome:
    """Complete a request with its outcome (`lua/outcome.lua`), opening its referral and
    any s298 notification (their JSON, None for none) in the same step."""

    script: ClassVar[str] = "outcome"
    request_id: str
    clinician_id: str
    outcome_json: str
    disposition: str
    triage_code: str
    conveyance: str
    officer_released_ms: int
    referral_json: str | None
    notice_json: str | None
    overridden: bool  # filed against the usual rules (an override reason was given)
    notify_team: bool  # the referral's team has a webhook to tell

    def argv(self) -> list[Arg]:
        """id, clinician_id, outcome_json, disposition, triage_code, conveyance,
        officer_released_ms, referral_json, notice_json, overridden, notify_team."""
        return [
            self.request_id,
            self.clinician_id,
            self.outcome_json,
            self.disposition,
            self.triage_code,
            self.conveyance,
            self.officer_released_ms,
            self.referral_json or "",
            self.notice_json or "",
            _flag(self.overridden),
            _flag(self.notify_team),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireRequest:
    """Expire a request whose wait timer fired (`lua/expire.lua`)."""

    script: ClassVar[str] = "expire"
    request_id: str

    def argv(self) -> list[Arg]:
        """id."""
        return [self.request_id]


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveFeedback:
    """The owner officer rates a completed assessment, once (`lua/feedback.lua`)."""

    script: ClassVar[str] = "feedback"
    request_id: str
    officer_id: str
    useful: int
    time_saved_min: int | None
    comment: str | None
    counterfactual: str | None

    def argv(self) -> list[Arg]:
        """id, officer_id, useful, time_saved_min ('' if not given), comment,
        counterfactual ('' if not given)."""
        saved = "" if self.time_saved_min is None else str(self.time_saved_min)
        return [
            self.request_id,
            self.officer_id,
            self.useful,
            saved,
            self.comment or "",
            self.counterfactual or "",
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePlaceOfSafety:
    """Record the end of an s297 detention and the examination's result
    (`lua/place_of_safety.lua`): `change` holds the actor, their role and any of
    `ended_ms`, `result`, `note`."""

    script: ClassVar[str] = "place_of_safety"
    request_id: str
    change: Mapping[str, Arg]

    def argv(self) -> list[Arg]:
        """id, change JSON."""
        return [self.request_id, json.dumps(self.change)]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReferral:
    """Move a referral on (`lua/referral_update.lua`); `team` only for a receiver."""

    script: ClassVar[str] = "referral_update"
    referral_id: str
    status: str
    note: str | None
    actor_id: str
    role: str
    team: str | None

    def argv(self) -> list[Arg]:
        """referral_id, status, note, actor_id, role, team ('' unless a receiver)."""
        return [
            self.referral_id,
            self.status,
            self.note or "",
            self.actor_id,
            self.role,
            self.team or "",
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeMatch:
    """The clinician's verdict on a possible earlier contact (`lua/person_link.lua`);
    `own_key` is the person key this request takes when a rejection splits a shared one."""

    script: ClassVar[str] = "person_link"
    request_id: str
    clinician_id: str
    contact_id: str
    verdict: str
    own_key: str

    def argv(self) -> list[Arg]:
        """id, clinician_id, contact_id, verdict, own_key."""
        return [self.request_id, self.clinician_id, self.contact_id, self.verdict, self.own_key]


SCRIPT_CALLS: tuple[type[ScriptCall], ...] = (
    CreateRequest,
    CancelRequest,
    AcceptRequest,
    TakeNext,
    ReleaseRequest,
    FileOutcome,
    ExpireRequest,
    GiveFeedback,
    UpdatePlaceOfSafety,
    UpdateReferral,
    JudgeMatch,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferTransfer:
    """The clinician in session offers the request to a colleague (`lua/transfer_offer.lua`);
    the offer lapses at `expires_ms`."""

    script: ClassVar[str] = "transfer_offer"
    request_id: str
    clinician_id: str
    clinician_name: str
    colleague_id: str
    note: str
    expires_ms: int

    def argv(self) -> list[Arg]:
        """id, clinician_id, clinician_name, colleague_id, note, expires_ms."""
        return [
            self.request_id,
            self.clinician_id,
            self.clinician_name,
            self.colleague_id,
            self.note,
            self.expires_ms,
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptTransfer:
    """The offered colleague takes the request over (`lua/transfer_accept.lua`), with a note
    for the chat and its wake-up."""

    script: ClassVar[str] = "transfer_accept"
    request_id: str
    colleague_id: str
    message_json: str
    wake_json: str

    def argv(self) -> list[Arg]:
        """id, colleague_id, chat message (JSON), its chat wake-up (JSON)."""
        return [self.request_id, self.colleague_id, self.message_json, self.wake_json]


@dataclass(frozen=True, slots=True, kw_only=True)
class EndTransfer:
    """An offer ends without a hand-over (`lua/transfer_end.lua`): the colleague declined it,
    or (`colleague_id` None) its timer fired."""

    script: ClassVar[str] = "transfer_end"
    request_id: str
    colleague_id: str | None
    state: str  # declined | lapsed

    def argv(self) -> list[Arg]:
        """id, colleague_id ('' for the timer), state."""
        return [self.request_id, self.colleague_id or "", self.state]
