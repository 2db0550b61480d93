"""Officers' requests: create, list, read, cancel."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import RequestList, RequestOut
from triage_service.domain.codes import RequestStatus, Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import RequestForm
from triage_service.domain.queries import RequestsQuery
from triage_service.service import lifecycle, records
from triage_service.service.sessions import SignIn
from triage_service.store import Request
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.errors import not_found
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()
MINE_LIMIT = 100
OPEN = (RequestStatus.WAITING, RequestStatus.IN_SESSION)


async def visible_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record named in the path, or 404 if it does not exist or the reader has no need to
    know it (`records.may_see`)."""
    return seen_record(
        request, sign_in, await records.load(request.app[STORE], request.match_info["id"])
    )


def seen_record(request: web.Request, sign_in: SignIn, record: Request | None) -> Request:
    """`record` as just read, or 404 if there is none or the reader has no need to know it."""
    if record is None or not records.may_see(sign_in.user, record, request.app[CLOCK]()):
        raise not_found()
    return record


async def actionable_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record named in the path for a change, or 404 if it does not exist or is not one
    the user may act on (`records.may_act_on`); its state then decides (409)."""
    record = await records.load(request.app[STORE], request.match_info["id"])
    if record is None or not records.may_act_on(sign_in.user, record):
        raise not_found()
    return record


async def shaped(request: web.Request, sign_in: SignIn, record: Request) -> RequestOut:
    """The record as this reader may see it, with live position and estimate."""
    settings = request.app[SETTINGS]
    return await records.shape_for(
        request.app[STORE],
        record,
        sign_in.user,
        phone_fallback=settings.phone_fallback,
        now_ms=request.app[CLOCK](),
        fallback_after_s=settings.fallback_thresholds,
        areas=settings.areas,
    )


@routes.endpoint(
    "POST",
    "/api/v1/requests",
    summary="Ask for an assessment",
    idempotent=True,
    roles=(Role.OFFICER,),
    body=RequestForm,
    answer=RequestOut,
    status=201,
    also_ok=(200,),
    errors={429: "Too many requests created in a minute; wait"},
)
async def create_request(
    request: web.Request, sign_in: SignIn, form: RequestForm, *, idempotency: Idempotency | None
) -> web.Response:
    """Queue a request; a repeated Idempotency-Key returns the first one with 200."""
    settings = request.app[SETTINGS]
    record, created = await lifecycle.create_request(  # counted against the limit in its step
        request.app[STORE],
        settings,
        sign_in.user,
        form,
        now_ms=request.app[CLOCK](),
        idempotency_key=idempotency.key if idempotency else None,
        per_minute=settings.requests_per_minute,
    )
    return answer(await shaped(request, sign_in, record), status=201 if created else 200)


@routes.endpoint(
    "GET",
    "/api/v1/requests",
    summary="My requests, newest first",
    roles=(Role.OFFICER,),
    query=RequestsQuery,
    answer=RequestList,
)
async def list_my_requests(
    request: web.Request, sign_in: SignIn, query: RequestsQuery
) -> web.Response:
    """The officer's own requests (`scope=mine`, the only scope), newest first: the newest
    `limit` (at most 100), or with `status=open` those waiting or in session among them."""
    store = request.app[STORE]
    ids = await store.requests.of_officer(sign_in.user.id, MINE_LIMIT)
    if query.status == "open":
        statuses = await store.requests.statuses(ids)
        ids = [i for i, status in zip(ids, statuses, strict=True) if status in OPEN]
    found = await records.load_many(store, ids[: query.limit])
    return answer(RequestList(requests=[await shaped(request, sign_in, r) for r in found]))


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}",
    summary="One request",
    roles=(Role.OFFICER, Role.CLINICIAN, Role.SUPERVISOR),
    answer=RequestOut,
    audited="record",
)
async def get_request(request: web.Request, sign_in: SignIn, *, access: AccessLog) -> web.Response:
    """Read a request as the reader may see it; the access is logged."""
    record = await visible_record(request, sign_in)
    await access.record([record.id])
    return answer(await shaped(request, sign_in, record))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/cancel",
    summary="Withdraw a waiting request",
    idempotent=True,
    roles=(Role.OFFICER,),
    answer=RequestOut,
    errors={409: "The request is no longer waiting"},
)
async def cancel_request(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """The owner officer cancels; 409 once it is no longer waiting (a repeated
    Idempotency-Key: 200 with the request as it now stands)."""
    record = await visible_record(request, sign_in)
    record = await lifecycle.cancel_request(
        request.app[STORE],
        request.app[SETTINGS],
        sign_in.user,
        record.id,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record))
