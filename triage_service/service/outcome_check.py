"""The outcome rules applied to the request an outcome closes: by filing (lifecycle) and by
the outcome form's review step, which asks before it files, so the form refuses exactly
what filing would (one set of rules: the server's)."""

from __future__ import annotations

from triage_service.domain.codes import AgeBand, RequestStatus
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.models import OutcomeForm
from triage_service.domain.outcome_rules import (
    RequestFacts,
    check_outcome,
    departures,
    latest_due,
)
from triage_service.domain.teams import request_board
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store import Request, Store


async def request_facts(
    store: Store, request_id: str, record: Request | None
) -> tuple[RequestFacts, str]:
    """What the outcome rules need from the request (its creation time and the person's age),
    and its health board (where its referral goes): from `record` when the caller has it,
    else read."""
    if record is None:
        record = await store.requests.load(request_id)
    if record is None:
        raise NotFound()
    return _facts(record), request_board(record.board)


def _facts(record: Request) -> RequestFacts:
    age = AgeBand(record.form["subject"]["age_band"])
    return RequestFacts(to_datetime(record.created_ms), age)


def check_before_filing(
    settings: Settings, clinician: User, outcome: OutcomeForm, record: Request, *, now_ms: int
) -> dict[str, str]:
    """Every rule filing `outcome` now would apply (`Invalid` naming the fields, `Conflict`
    unless the request is in session with `clinician`), filing nothing; where it departs
    from the usual rules (each with its override reason given), empty if nowhere."""
    if record.status is not RequestStatus.IN_SESSION or record.clinician_id != clinician.id:
        status = record.status.value
        raise Conflict("not_in_session", f"The request is not in session with you ({status}).")
    made_at = to_datetime(now_ms)
    facts = _facts(record)
    targets = settings.response_targets
    check_outcome(outcome, facts, now=made_at, targets_h=targets)
    return departures(outcome, latest_due=latest_due(outcome, now=made_at, targets_h=targets))
