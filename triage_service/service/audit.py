"""The access log (DPA 2018 s.62): who consulted which record, when and why; sign-ins too.

Each entry is `{at, user_id, role, action, request_id|null, reason|null}`. Append-only for
the application; only the retention setting of its own trims it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from triage_service.domain.errors import Invalid
from triage_service.domain.users import User
from triage_service.store.store import Store

MAX_REASON = 500
PAGE_MAX = 500
SCAN_BATCH = 500
CURSOR = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


async def record_access(
    store: Store,
    user: User,
    *,
    action: str,
    now_ms: int,
    request_id: str | None = None,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one access entry (`detail`: what else identifies it, e.g. an export's window)."""
    await record_accesses(
        store,
        user,
        action=action,
        now_ms=now_ms,
        request_ids=[request_id],
        reason=reason,
        detail=detail,
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
            }
            for request_id in request_ids
        ],
    )


async def record_sign_in(
    store: Store, action: str, *, user_id: str | None, role: str | None, now_ms: int
) -> None:
    """Append a `login`, `login_failed` (user_id of the targeted account, if any) or `logout`."""
    await store.audit.append(
        [{"at": now_ms, "user_id": user_id, "role": role, "action": action}],
    )


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
    user_id = fields.get("user_id", fields.get("user", ""))
    request_id = fields.get("request_id", fields.get("record", ""))
    return (query.user_id is None or user_id == query.user_id) and (
        query.request_id is None or request_id == query.request_id
    )


def _shape(entry_id: str, fields: dict[str, str]) -> dict[str, object]:
    """An entry as the API shows it (entries of older versions named user and record)."""
    return {
        "id": entry_id,
        "at": _iso(int(fields.get("at") or entry_id.split("-")[0])),
        "user_id": fields.get("user_id", fields.get("user")) or None,
        "role": fields.get("role") or None,
        "action": fields.get("action", ""),
        "request_id": fields.get("request_id", fields.get("record")) or None,
        "reason": fields.get("reason") or None,
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(name: str, raw: str | None) -> int | None:
    """An ISO 8601 query time as epoch ms; Invalid naming the field if it is not one."""
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as e:
        raise Invalid(
            "validation_error", f"{name} must be an ISO 8601 time.", {name: "ISO 8601"}
        ) from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def check_cursor(raw: str | None) -> str | None:
    """A cursor from a previous page (an entry id); Invalid naming `cursor` otherwise."""
    if raw is not None and not CURSOR.fullmatch(raw):
        raise Invalid("validation_error", "cursor is not from this log.", {"cursor": "bad cursor"})
    return raw


def check_limit(raw: str | None) -> int:
    """The page size asked for: 1-500, default 100; Invalid naming `limit` otherwise."""
    if raw is None:
        return 100
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise Invalid("validation_error", "limit must be 1-500.", {"limit": "must be 1-500"})
    return int(raw)


async def trim(store: Store, *, retention_days: int, now_ms: int) -> int:
    """Drop entries older than the audit retention; how many went."""
    return await store.audit.trim_before(now_ms - retention_days * 86_400_000)
