"""Officer feedback on a completed assessment: one question, once."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import FeedbackOut
from triage_service.domain.codes import Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import FeedbackForm
from triage_service.service.feedback import give_feedback
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import CLOCK, STORE

routes = ApiRoutes()


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/feedback",
    summary="Rate how useful the assessment was (owner officer, once, after completion)",
    roles=(Role.OFFICER,),
    body=FeedbackForm,
    answer=FeedbackOut,
    status=201,
    errors={409: "Feedback already given (feedback_given), or the assessment is not completed"},
    idempotent=True,
)
async def post_feedback(
    request: web.Request, sign_in: SignIn, form: FeedbackForm, *, idempotency: Idempotency | None
) -> web.Response:
    """Record the officer's rating; a second one is 409 `feedback_given`."""
    found = await give_feedback(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        form,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(found, status=201)
