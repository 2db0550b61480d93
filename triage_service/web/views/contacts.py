"""Previous contacts: the clinician in session reads the person's earlier contacts and
confirms or rejects a possible match."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import History, MatchVerdictOut
from triage_service.domain.codes import Role
from triage_service.domain.errors import Conflict
from triage_service.domain.models import ContactChoice
from triage_service.service import contacts, records
from triage_service.service.sessions import SignIn
from triage_service.store import Request
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.errors import not_found
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()
CONSULTING = {404: "Not a request of yours", 409: "The request is not in session with you"}


async def consulted_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record if the reader is its assigned clinician (else 404) and it is in session
    (else 409): only then does its person's history help the assessment."""
    record = await records.load(request.app[STORE], request.match_info["id"])
    if record is None or record.clinician_id != sign_in.user.id:
        raise not_found()
    if not contacts.may_consult(sign_in.user, record):
        raise Conflict("not_in_session", f"The request is not in session ({record.status}).")
    return record


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/history",
    summary="The person's earlier contacts (the clinician in session; audited)",
    roles=(Role.CLINICIAN,),
    answer=History,
    errors=CONSULTING,
    audited="history",
)
async def get_history(request: web.Request, sign_in: SignIn, *, access: AccessLog) -> web.Response:
    """Earlier contacts of the last 24 months, newest first; the read is logged for this
    request and for each contact shown, with the `X-Access-Reason` given."""
    record = await consulted_record(request, sign_in)
    history = await contacts.read_history(request.app[STORE], record, request.app[SETTINGS].areas)
    await access.record([record.id])
    if history.contacts:
        await access.record(
            [c.request_id for c in history.contacts],
            action="history_contact",
            extra={"contact_of": record.id},
        )
    return answer(history)


async def _judge(
    request: web.Request, sign_in: SignIn, choice: ContactChoice, verdict: contacts.Verdict
) -> web.Response:
    record = await consulted_record(request, sign_in)
    found = await contacts.judge_match(
        request.app[STORE],
        request.app[SETTINGS],
        sign_in.user,
        record,
        choice.request_id,
        verdict,
        now_ms=request.app[CLOCK](),
    )
    return answer(found)


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/history/reject",
    summary="Not the same person: unlink a possible (name and date of birth) match",
    roles=(Role.CLINICIAN,),
    body=ContactChoice,
    answer=MatchVerdictOut,
    errors={**CONSULTING, 409: "Not in session with you, a CHI match, or already rejected"},
)
async def reject_match(
    request: web.Request, sign_in: SignIn, choice: ContactChoice
) -> web.Response:
    """The contact no longer counts as this person's (history, repeat counts, exports)."""
    return await _judge(request, sign_in, choice, "rejected")


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/history/confirm",
    summary="The same person: confirm a possible (name and date of birth) match",
    roles=(Role.CLINICIAN,),
    body=ContactChoice,
    answer=MatchVerdictOut,
    errors={**CONSULTING, 409: "Not in session with you, a CHI match, or rejected"},
)
async def confirm_match(
    request: web.Request, sign_in: SignIn, choice: ContactChoice
) -> web.Response:
    """The contact is shown as confirmed rather than possible."""
    return await _judge(request, sign_in, choice, "confirmed")
