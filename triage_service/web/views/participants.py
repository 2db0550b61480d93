"""The people in a call: who is in it, asking a colleague to consult, and ending a consult."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.domain.participants import (
    ColleaguesOut,
    ConsultForm,
    ParticipantsOut,
    PersonOut,
)
from triage_service.service import participants, records
from triage_service.service.messages import is_participant
from triage_service.service.sessions import SignIn
from triage_service.store import Request
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import not_found
from triage_service.web.state import CLOCK, STORE

routes = ApiRoutes()


async def call_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record if the reader is its officer, its clinician or a consultant in its call."""
    store = request.app[STORE]
    record = await records.load(store, request.match_info["id"])
    if record is None:
        raise not_found()
    if is_participant(sign_in.user, record):
        return record
    if await participants.is_consultant(store, record, sign_in.user):
        return record
    raise not_found()


async def assigned_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record if the reader is its assigned clinician, else 404."""
    record = await records.load(request.app[STORE], request.match_info["id"])
    if record is None or not records.is_assigned(sign_in.user, record):
        raise not_found()
    return record


def people_out(
    record: Request,
    me: str,
    found: list[participants.Person],
    ever: list[participants.Person] | None = None,
) -> ParticipantsOut:
    """Who is in the call, as its pages read it (with `ever`: everyone ever in it)."""
    return ParticipantsOut(
        request_id=record.id,
        status=record.status,
        me=me,
        people=[PersonOut.model_validate(p.as_dict()) for p in found],
        everyone=[PersonOut.model_validate(p.as_dict()) for p in ever or []],
    )


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/participants",
    summary="Who is in the call (no record data)",
    roles=(Role.OFFICER, Role.CLINICIAN),
    answer=ParticipantsOut,
)
async def list_participants(request: web.Request, sign_in: SignIn) -> web.Response:
    """The officer, the clinician and any consultants and guests in the running call; for
    the session's clinician also everyone ever in it (`everyone`, kept with the record)."""
    store = request.app[STORE]
    record = await call_record(request, sign_in)
    found = await participants.people(store, record)
    ever = (
        await participants.everyone(store, record)
        if record.clinician_id == sign_in.user.id
        else None
    )
    return answer(people_out(record, sign_in.user.id, found, ever))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/consult",
    summary="Ask a colleague on duty to join the call as a consultant",
    roles=(Role.CLINICIAN,),
    body=ConsultForm,
    answer=PersonOut,
    status=201,
    errors={409: "Not in session (not_in_session) or the call is full (call_full)"},
)
async def ask_consultant(request: web.Request, sign_in: SignIn, form: ConsultForm) -> web.Response:
    """The colleague gets `consult.offered` on their socket and may join until removed or the
    session ends; the session's clinician stays responsible."""
    record = await assigned_record(request, sign_in)
    person = await participants.ask_consultant(
        request.app[STORE], record, sign_in.user, form.to, now_ms=request.app[CLOCK]()
    )
    return answer(PersonOut.model_validate(person.as_dict()), status=201)


@routes.endpoint(
    "DELETE",
    "/api/v1/requests/{id}/consult/{user_id}",
    summary="End a consult (the session's clinician, or the consultant leaving)",
    roles=(Role.CLINICIAN,),
    status=204,
)
async def end_consult(request: web.Request, sign_in: SignIn) -> web.Response:
    """The consultant leaves the call; the others stay connected."""
    store, user = request.app[STORE], sign_in.user
    consultant_id = request.match_info["user_id"]
    record = await records.load(store, request.match_info["id"])
    allowed = record is not None and (
        records.is_assigned(user, record)
        or (user.id == consultant_id and await participants.is_consultant(store, record, user))
    )
    if record is None or not allowed:
        raise not_found()
    await participants.end_consult(store, record, user, consultant_id, now_ms=request.app[CLOCK]())
    return web.Response(status=204)


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/colleagues",
    summary="Colleagues on duty the session's clinician may ask to consult",
    roles=(Role.CLINICIAN,),
    answer=ColleaguesOut,
)
async def list_colleagues(request: web.Request, sign_in: SignIn) -> web.Response:
    """Clinicians on duty covering the request's board, not already in the call."""
    record = await assigned_record(request, sign_in)
    found = await participants.colleagues_on_duty(request.app[STORE], record, sign_in.user)
    return answer(ColleaguesOut(colleagues=[PersonOut.model_validate(p.as_dict()) for p in found]))
