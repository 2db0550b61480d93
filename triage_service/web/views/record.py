"""The clinical record of a session: chat messages and the outcome."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import MessageList, MessageOut, OutcomeOut
from triage_service.domain.codes import Role
from triage_service.domain.models import MessageForm, OutcomeForm
from triage_service.service import lifecycle, messages
from triage_service.service.audit import record_access
from triage_service.service.referrals import get_referral
from triage_service.service.sessions import SignIn
from triage_service.service.throttle import limit_action
from triage_service.store import RequestRecord
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import not_found
from triage_service.web.idempotency import idempotency
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.requests import actionable_record, shaped, visible_record

routes = ApiRoutes()
PARTICIPANTS = (Role.OFFICER, Role.CLINICIAN)


async def participant_record(request: web.Request, sign_in: SignIn) -> RequestRecord:
    """The record if the reader is its owner officer or assigned clinician, else 404."""
    record = await visible_record(request, sign_in)
    if not messages.is_participant(sign_in.user, record):
        raise not_found()
    return record


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/messages",
    summary="Send a chat message",
    idempotent=True,
    roles=PARTICIPANTS,
    body=MessageForm,
    answer=MessageOut,
    status=201,
    errors={409: "The chat is closed"},
)
async def post_message(request: web.Request, sign_in: SignIn, form: MessageForm) -> web.Response:
    """Store a message with the record and push it to the other participant."""
    record = await participant_record(request, sign_in)
    await limit_action(
        request.app[STORE],
        sign_in.user.id,
        "message",
        limit=request.app[SETTINGS].messages_per_minute,
        now_ms=request.app[CLOCK](),
    )
    message = await messages.post_message(
        request.app[STORE],
        record,
        sign_in.user,
        form.text,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency(request, sign_in, form),
    )
    return answer(message, status=201)


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/messages",
    summary="The chat, oldest first",
    roles=PARTICIPANTS,
    answer=MessageList,
)
async def list_messages(request: web.Request, sign_in: SignIn) -> web.Response:
    """Every message of the request, oldest first."""
    record = await participant_record(request, sign_in)
    await record_access(
        request.app[STORE],
        sign_in.user,
        action="chat",
        request_id=record["id"],
        reason=request.headers.get("X-Access-Reason"),
        now_ms=request.app[CLOCK](),
    )
    found = await messages.list_messages(request.app[STORE], record["id"])
    return answer(MessageList(messages=found))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/outcome",
    summary="File the outcome",
    idempotent=True,
    roles=(Role.CLINICIAN,),
    body=OutcomeForm,
    answer=OutcomeOut,
    status=201,
    errors={409: "Not in session with you, or already filed"},
)
async def file_outcome(request: web.Request, sign_in: SignIn, form: OutcomeForm) -> web.Response:
    """Exactly once, by the assigned clinician; opens any referral and s298 notification."""
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    record = await actionable_record(request, sign_in)
    record = await lifecycle.file_outcome(
        store,
        request.app[SETTINGS],
        sign_in.user,
        record["id"],
        form,
        now_ms=now_ms,
        idempotency=idempotency(request, sign_in, form),
    )
    referral = (
        await get_referral(store, record["referral_id"], now_ms=now_ms)
        if record.get("referral_id")
        else None
    )
    return answer(
        OutcomeOut(request=await shaped(request, sign_in, record), outcome=form, referral=referral),
        status=201,
    )
