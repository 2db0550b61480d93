"""Officer feedback: one rating per completed assessment, counted for evaluators."""

from __future__ import annotations

from triage_service.domain.answers import FeedbackOut
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.models import FeedbackForm
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.store import Refused, Store


async def give_feedback(
    store: Store, officer: User, request_id: str, form: FeedbackForm, *, now_ms: int
) -> FeedbackOut:
    """Record the owner officer's rating once, after completion (atomic with its counters)."""
    saved = "" if form.time_saved_min is None else str(form.time_saved_min)
    try:
        await store.run(
            "feedback", now_ms, request_id, officer.id, form.useful, saved, form.comment or ""
        )
    except Refused as e:
        if e.code == "not_found":
            raise NotFound() from e
        if e.code == "feedback_given":
            raise Conflict(e.code, "You already gave feedback on this assessment.") from e
        raise Conflict(e.code, f"Feedback comes after the assessment (it is {e.status}).") from e
    given = to_datetime(now_ms)
    assert given is not None
    return FeedbackOut(
        request_id=request_id,
        useful=form.useful,
        time_saved_min=form.time_saved_min,
        comment=form.comment or None,
        given_at=given,
    )
