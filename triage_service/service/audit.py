"""The access log (DPA 2018 s.62): who consulted which record, when and why; sign-ins too.

Each entry is `{at, user_id, role, action, request_id|null, reason|null}`. Append-only for
the application; only the retention setting of its own trims it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from triage_service.domain.errors import Invalid
from triage_service.domain.users import User
from triage_service.store.store import Store

MAX_REASON = 500
PAGE_MAX = 500
SCAN_BATCH = 500
CURSOR = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
MAX_ID_PART = 2**64 - 1  # a stream entry id is two unsigned 64-bit numbers


# Fields some entries carry beyond the common ones: an export's span and boards, the record
# a write changed, the account a change was made to and what the change was.
EXTRA_FIELDS = (
    *("from", "to", "board", "referral_id", "alarm_id", "account_id", "change"),
    *("provider", "factor"),  # a sign-in's identity provider or second factor
    # previous contacts: the earlier contact judged, the request whose history showed it
    *("contact_id", "contact_of"),
)


async def record_access(
    store: Store,
    user: User,
    *,
    action: str,
    now_ms: int,
    request_id: str | None = None,
    reason: str | None = None,
    detail: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Append one access entry (`detail`: what else identifies it, e.g. an export's window;
    `extra`: any of `EXTRA_FIELDS`, shown in the log)."""
    await record_accesses(
        store,
        user,
        action=action,
        now_ms=now_ms,
        request_ids=[request_id],
        reason=reason,
        detail=detail,
        extra=extra,
    )


async def record_accesses(
    store: Store,
    user: User,
    *,
    action: str,
    now_ms: int,
    request_ids: list[str | None],
    reason: str | None = None,
    detail: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Append one entry per request read (a list read logs each request it showed)."""
    await store.audit.append(
        [
            {
                "at": now_ms,
                "user_id": user.id,
                "role": user.role.value,
                "action": action,
                "request_id": request_id,
                "reason": (reason or "")[:MAX_REASON] or None,
                "detail": detail,
                **(extra or {}),
            }
            for request_id in request_ids
        ],
    )


async def record_account_change(
    store: Store, account_id: str, change: str, *, now_ms: int, by: User | None = None
) -> None:
    """Append an `account_changed` entry: which account, what changed (`added`, `disabled`,
    `enabled`, `password_reset`, `password_changed`, `role:{role}`) and who changed it
    (`by`: the user changing their own password; none at the command line, role
    `console`)."""
    await store.audit.append(
        [
            {
                "at": now_ms,
                "user_id": by.id if by else None,
                "role": by.role.value if by else "console",
                "action": "account_changed",
                "account_id": account_id,
                "change": change,
            }
        ]
    )


async def record_sign_in(
    store: Store,
    action: str,
    *,
    user_id: str | None,
    role: str | None,
    now_ms: int,
    provider: str | None = None,
    factor: str | None = None,
) -> None:
    """Append a `login`, `login_failed` (user_id of the targeted account, if any) or `logout`
    (or an identity action: `mfa_enrolled`, `recovery_code_used`, `mfa_reset`), naming the
    identity `provider` or the second `factor` where there is one."""
    entry: dict[str, object] = {"at": now_ms, "user_id": user_id, "role": role, "action": action}
    if provider:
        entry["provider"] = provider
    if factor:
        entry["factor"] = factor
    await store.audit.append([entry])


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of `GET /api/v1/audit`; `cursor` is the last entry id of the previous page."""

    request_id: str | None = None
    user_id: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None
    cursor: str | None = None
    limit: int = 100


async def read_entries(
    store: Store, query: AuditQuery
) -> tuple[list[dict[str, object]], str | None]:
    """One page of matching entries, oldest first, and the cursor of the next (None at end)."""
    start = f"({query.cursor}" if query.cursor else str(query.from_ms or "-")
    end = str(query.to_ms) if query.to_ms is not None else "+"
    found: list[dict[str, object]] = []
    while True:
        batch = await store.audit.read_after(start, end, SCAN_BATCH)
        for entry_id, fields in batch:
            if _matches(fields, query):
                found.append(_shape(entry_id, fields))
                if len(found) == query.limit:
                    return found, entry_id
        if len(batch) < SCAN_BATCH:
            return found, None
        start = f"({batch[-1][0]}"


def _matches(fields: dict[str, str], query: AuditQuery) -> bool:
    """The entry is by the user asked for (or about their account), and of the request."""
    user_id = fields.get("user_id", fields.get("user", ""))
    request_id = fields.get("request_id", fields.get("record", ""))
    return (query.user_id is None or query.user_id in (user_id, fields.get("account_id"))) and (
        query.request_id is None or request_id == query.request_id
    )


def _shape(entry_id: str, fields: dict[str, str]) -> dict[str, object]:
    """An entry as the API shows it (entries of older versions named user and record), with
    whichever of `EXTRA_FIELDS` it has (an empty one as null): an export's span, a sign-in's
    identity provider or second factor, ..."""
    return {
        "id": entry_id,
        "at": _iso(int(fields.get("at") or entry_id.split("-")[0])),
        "user_id": fields.get("user_id", fields.get("user")) or None,
        "role": fields.get("role") or None,
        "action": fields.get("action", ""),
        "request_id": fields.get("request_id", fields.get("record")) or None,
        "reason": fields.get("reason") or None,
        **{name: fields[name] or None for name in EXTRA_FIELDS if name in fields},
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def check_cursor(raw: str | None) -> str | None:
    """A cursor from a previous page (an entry id: two unsigned 64-bit numbers, short of the
    last id there can be, as pages go on after it); Invalid naming `cursor` otherwise."""
    if raw is None:
        return None
    parts = [int(part) for part in raw.split("-")] if CURSOR.fullmatch(raw) else []
    if not parts or max(parts) > MAX_ID_PART or parts == [MAX_ID_PART, MAX_ID_PART]:
        raise Invalid("validation_error", "cursor is not from this log.", {"cursor": "bad cursor"})
    return raw


async def trim(store: Store, *, retention_days: int, now_ms: int) -> int:
    """Drop entries older than the audit retention; how many went."""
    return await store.audit.trim_before(now_ms - retention_days * 86_400_000)
