"""The access log (DPA 2018 s.62): who consulted which record, when and why. Append-only."""

from __future__ import annotations

from triage_service.domain.users import User
from triage_service.store.store import Store


async def record_access(
    store: Store, user: User, *, action: str, record_id: str, now_ms: int
) -> None:
    """Append one access entry; the application has no path that edits or deletes them."""
    await store.audit.append(
        {
            "user": user.id,
            "role": user.role.value,
            "action": action,
            "record": record_id,
            "at": now_ms,
        }
    )
