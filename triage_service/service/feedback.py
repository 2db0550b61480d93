"""Officer feedback: one rating per completed assessment (with what the officer would
otherwise have done), counted for evaluators."""

from __future__ import annotations

from triage_service.domain import idempotency as idem
from triage_service.domain.answers import FeedbackOut
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import FeedbackForm
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.store import Refused, Store, record_of
from triage_service.store.changes import GiveFeedback


async def give_feedback(
    store: Store,
    officer: User,
    request_id: str,
    form: FeedbackForm,
    *,
    now_ms: int,
    idempotency: Idempotency | None = None,
) -> FeedbackOut:
    """Record the owner officer's rating once, after completion (atomic with its counters);
    a repeat of the same key (the same rating: the key's scope holds the body) answers the
    first one again, not 409."""
    call = GiveFeedback(
        request_id=request_id,
        officer_id=officer.id,
        useful=form.useful,
        time_saved_min=form.time_saved_min,
        comment=form.comment,
        counterfactual=form.counterfactual.value if form.counterfactual else None,
    )
    try:
        result = await store.change(call, now_ms=now_ms, idempotency=idempotency)
    except Refused as e:
        if e.code == "not_found":
            raise NotFound() from e
        if e.code == "idempotency_key_reused":
            raise idem.reused() from e
        if e.code == "feedback_given":
            raise Conflict(e.code, "You already gave feedback on this assessment.") from e
        raise Conflict(e.code, f"Feedback comes after the assessment (it is {e.status}).") from e
    record = record_of(result)
    given = to_datetime((record.feedback_ms if record else None) or now_ms)
    return FeedbackOut(
        request_id=request_id,
        useful=form.useful,
        time_saved_min=form.time_saved_min,
        comment=form.comment or None,
        counterfactual=form.counterfactual,
        given_at=given,
    )
