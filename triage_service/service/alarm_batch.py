"""Acknowledging several alarms at once: each one exactly as the single acknowledgement does
(its own atomic step, board scope, audit entry and push), with one note for them all."""

from __future__ import annotations

from dataclasses import replace

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import AlarmBatchOut, AlarmSkipped
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.users import User
from triage_service.service.alarms import acknowledge
from triage_service.store import Store


async def acknowledge_many(
    store: Store,
    supervisor: User,
    alarm_ids: list[str],
    note: str | None,
    *,
    now_ms: int,
    areas: AreaDirectory | None = None,
    idempotency: Idempotency | None = None,
) -> AlarmBatchOut:
    """Acknowledge each open alarm of a board the supervisor covers; one already
    acknowledged, unknown or of another board is skipped with its reason (another board's
    reads as `not_found`, as for one alone). With a key, each alarm's step keeps its own
    derived key, so a retry of the batch answers the first acknowledgements again."""
    if idempotency and not await store.alarms.claim_batch_key(idempotency):
        raise idem.reused()
    done, skipped = [], []
    for alarm_id in alarm_ids:
        key = replace(idempotency, key=f"{idempotency.key}:{alarm_id}") if idempotency else None
        try:
            done.append(
                await acknowledge(
                    store, supervisor, alarm_id, note, now_ms=now_ms, areas=areas, idempotency=key
                )
            )
        except NotFound:
            skipped.append(AlarmSkipped(id=alarm_id, code="not_found"))
        except Conflict:
            skipped.append(AlarmSkipped(id=alarm_id, code="already_acknowledged"))
    return AlarmBatchOut(acknowledged=done, skipped=skipped)
