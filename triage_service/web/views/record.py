"""The clinical record of a session: chat messages and the outcome."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import (
    MessageList,
    MessageOut,
    OutcomeCheckOut,
    OutcomeOut,
    OutcomeWarning,
    ReferralOut,
)
from triage_service.domain.codes import Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import MessageForm, OutcomeForm
from triage_service.service import alarms, lifecycle, messages, records, referrals
from triage_service.service.outcome_check import check_before_filing
from triage_service.service.participants import is_consultant
from triage_service.service.referrals import get_referral
from triage_service.service.sessions import SignIn
from triage_service.service.throttle import load_limiting_action
from triage_service.store import Request
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.errors import ApiError, not_found
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.requests import (
    actionable_record,
    seen_record,
    shaped,
)

routes = ApiRoutes()
PARTICIPANTS = (Role.OFFICER, Role.CLINICIAN)


async def participant_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record if the reader is its owner officer, assigned clinician or a consultant in
    its call, else 404."""
    return await chat_record(
        request, sign_in, await records.load(request.app[STORE], request.match_info["id"])
    )


async def chat_record(
    request: web.Request, sign_in: SignIn, record: Request | None, *, posting: bool = False
) -> Request:
    """`record` if the reader takes part in its chat (a consultant while in the call; with
    `posting`, a clinician writing to a waiting officer), else 404."""
    if record is not None and await is_consultant(request.app[STORE], record, sign_in.user):
        return record
    record = seen_record(request, sign_in, record)
    if posting and not messages.may_post(sign_in.user, record, request.app[CLOCK]()):
        raise not_found()
    if posting:
        return record
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
    errors={
        409: "The chat is closed, or the request no longer waits",
        429: "Too many messages in a minute; wait",
    },
)
async def post_message(
    request: web.Request, sign_in: SignIn, form: MessageForm, *, idempotency: Idempotency | None
) -> web.Response:
    """Store a message with the record and push it to the other participant (the record read
    and the message counted against the sender's limit in one round trip); a clinician the
    waiting request is offered to may send its officer a message (409 once it stops waiting)."""
    found, limited = await load_limiting_action(
        request.app[STORE],
        request.match_info["id"],
        sign_in.user.id,
        "message",
        limit=request.app[SETTINGS].messages_per_minute,
        now_ms=request.app[CLOCK](),
    )
    record = await chat_record(request, sign_in, found, posting=True)
    if limited:
        raise limited
    message = await messages.post_message(
        request.app[STORE],
        record,
        sign_in.user,
        form.text,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(message, status=201)


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/messages",
    summary="The chat, oldest first",
    roles=PARTICIPANTS,
    answer=MessageList,
    audited="chat",
)
async def list_messages(
    request: web.Request, sign_in: SignIn, *, access: AccessLog
) -> web.Response:
    """Every message of the request, oldest first."""
    record = await participant_record(request, sign_in)
    await access.record([record.id])
    found = await messages.list_messages(request.app[STORE], record.id)
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
    errors={
        403: "A consultant in the call may not file (consultant_cannot_file)",
        409: "Not in session with you, or already filed",
    },
)
async def file_outcome(
    request: web.Request, sign_in: SignIn, form: OutcomeForm, *, idempotency: Idempotency | None
) -> web.Response:
    """Exactly once, by the assigned clinician (never a consultant); opens any referral and
    s298 notification; warns when the referral's team has nobody to read it."""
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    record = await records.load(store, request.match_info["id"])
    user = sign_in.user
    others = record is not None and not records.is_assigned(user, record)
    if others and record is not None and await is_consultant(store, record, user):
        raise ApiError(403, "consultant_cannot_file", "The session's clinician files the outcome.")
    if record is None or not records.may_act_on(user, record):
        raise not_found()
    record = await lifecycle.file_outcome(
        store,
        request.app[SETTINGS],
        sign_in.user,
        record.id,
        form,
        now_ms=now_ms,
        idempotency=idempotency,
        record=record,
    )
    referral = (
        await get_referral(store, record.referral_id, now_ms=now_ms) if record.referral_id else None
    )
    warnings = await unstaffed_team(request, referral, now_ms=now_ms)
    seen = await shaped(request, sign_in, record)
    filed = seen.outcome or form
    return answer(
        OutcomeOut(request=seen, outcome=filed, referral=referral, warnings=warnings), status=201
    )


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/outcome/check",
    summary="Check an outcome against the rules filing applies, filing nothing",
    roles=(Role.CLINICIAN,),
    body=OutcomeForm,
    answer=OutcomeCheckOut,
    errors={409: "Not in session with you, or already filed"},
)
async def check_outcome_first(
    request: web.Request, sign_in: SignIn, form: OutcomeForm
) -> web.Response:
    """The outcome form's review step: the same 422 filing would answer (each problem on its
    field), else 200 with where the outcome departs from the usual rules."""
    record = await actionable_record(request, sign_in)
    found = check_before_filing(
        request.app[SETTINGS], sign_in.user, form, record, now_ms=request.app[CLOCK]()
    )
    return answer(OutcomeCheckOut(departures=found))


async def unstaffed_team(
    request: web.Request, referral: ReferralOut | None, *, now_ms: int
) -> list[OutcomeWarning]:
    """A referral to a team nobody staffs is filed, and the clinician is told at once (with
    the team's phone) and supervisors are alarmed."""
    store, settings = request.app[STORE], request.app[SETTINGS]
    if referral is None or not referral.team or await referrals.team_staffed(store, referral.team):
        return []
    warning = referrals.unstaffed_warning(settings.areas, referral)
    await alarms.referral_unstaffed(store, settings, referral, warning.message, now_ms=now_ms)
    return [warning]
