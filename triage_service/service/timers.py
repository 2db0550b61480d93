"""Timers kept in Redis (a sorted set of due times), swept by whichever instance is first."""

from __future__ import annotations

import asyncio
import logging

from triage_service.domain.times import Clock
from triage_service.service.alarms import check_alarms, request_expired
from triage_service.service.audit import trim as trim_audit
from triage_service.service.fallback import fallback_due
from triage_service.service.lifecycle import expire_request
from triage_service.service.presence import grace_expired, reap_lapsed_leases
from triage_service.service.retention import purge_due
from triage_service.service.routing import overflow_due
from triage_service.service.transfers import lapse_transfer
from triage_service.settings import Settings
from triage_service.store import STORE_ERRORS
from triage_service.store.store import Store

log = logging.getLogger(__name__)
BATCH = 100


async def sweep_due(store: Store, now_ms: int, settings: Settings | None = None) -> int:
    """Fire every timer due by `now_ms`; return how many changed something.

    With `settings`, an expiry also raises its alarm."""
    due = await store.timers.due(now_ms, BATCH)
    fired = 0
    for member in due:
        kind, _, target = member.partition(":")
        if kind == "expire":
            expired = await expire_request(store, target, now_ms=now_ms)
            if expired and settings is not None:
                await request_expired(store, settings, target, now_ms=now_ms)
            fired += expired
        elif kind == "fallback":
            await fallback_due(store, target)  # only tells the officer: no state changes
        elif kind == "overflow":
            await overflow_due(store, target)  # only tells clinicians: no state changes
        elif kind == "transfer":
            fired += await lapse_transfer(store, target, now_ms=now_ms)
        elif kind == "grace":
            fired += await grace_expired(store, target, now_ms=now_ms)
        else:
            log.warning("dropping unknown timer %r", member)
            await store.timers.drop(member)
    return fired


async def sweep_forever(store: Store, settings: Settings, clock: Clock) -> None:
    """Sweep every `sweep_interval_s` until cancelled; a failed sweep is logged and retried."""
    while True:
        try:
            # One time for the whole sweep: leases are reaped (grace timers started) before
            # the alarms judge who is on duty at that same time.
            now_ms = clock()
            await reap_lapsed_leases(store, settings, now_ms=now_ms)
            await sweep_due(store, now_ms, settings)
            await check_alarms(store, settings, now_ms=now_ms)
            if settings.retention_days:
                await purge_due(store, retention_days=settings.retention_days, now_ms=clock())
            if settings.audit_retention_days:
                await trim_audit(
                    store, retention_days=settings.audit_retention_days, now_ms=clock()
                )
        except STORE_ERRORS as e:
            log.warning("timer sweep failed, will retry: %s", e)
        await asyncio.sleep(settings.sweep_interval_s)
