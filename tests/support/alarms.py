"""Alarms raised straight through the store, as the sweeper would, for the pages' tests."""

from __future__ import annotations

import secrets
import time

from triage_service.store import Store

MINUTE_MS = 60_000


async def raise_alarm(store: Store, kind: str, level: str, minutes_ago: float) -> str:
    """Raise an alarm of `kind` and `level` as if noticed `minutes_ago`; its id. (`expired`
    and `referral_declined` are kept whatever their subject's state.)"""
    alarm_id = secrets.token_hex(8)
    raised_ms = int(time.time() * 1000 - minutes_ago * MINUTE_MS)
    by_referral = kind == "referral_declined"
    fields: dict[str, str | int] = {
        "id": alarm_id,
        "kind": kind,
        "level": level,
        "request_id": "" if by_referral else secrets.token_hex(8),
        "referral_id": secrets.token_hex(8) if by_referral else "",
        "message": f"{level} {kind} {minutes_ago} min ago",
        "raised_ms": raised_ms,
    }
    assert await store.alarms.raise_once(kind, alarm_id, fields, deliver=[], now_ms=raised_ms)
    return alarm_id
