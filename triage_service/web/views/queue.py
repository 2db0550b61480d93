"""The clinician's side of the queue: availability, the queue, accept, next, release."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import AvailabilityOut, QueueOut, RequestOut
from triage_service.domain.codes import Availability, Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import AvailabilityChange, ReleaseForm
from triage_service.service import lifecycle, records
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import CLOCK, STORE
from triage_service.web.views.requests import actionable_record, shaped

routes = ApiRoutes()
QUEUE_LIMIT = 200


@routes.endpoint(
    "PUT",
    "/api/v1/availability",
    summary="Set my availability",
    roles=(Role.CLINICIAN,),
    body=AvailabilityChange,
    answer=AvailabilityOut,
)
async def put_availability(
    request: web.Request, sign_in: SignIn, change: AvailabilityChange
) -> web.Response:
    """Available, busy or offline; offline is allowed at any time."""
    status = await lifecycle.set_availability(
        request.app[STORE], sign_in.user, change.status, now_ms=request.app[CLOCK]()
    )
    return answer(AvailabilityOut(status=status))


@routes.endpoint(
    "GET",
    "/api/v1/availability",
    summary="My availability",
    roles=(Role.CLINICIAN,),
    answer=AvailabilityOut,
)
async def get_availability(request: web.Request, sign_in: SignIn) -> web.Response:
    """The clinician's current availability (offline until set)."""
    store = request.app[STORE]
    status = await store.clinicians.availability(sign_in.user.id)
    return answer(AvailabilityOut(status=Availability(status or "offline")))


@routes.endpoint(
    "GET",
    "/api/v1/queue",
    summary="Waiting requests in service order",
    roles=(Role.CLINICIAN, Role.SUPERVISOR),
    answer=QueueOut,
)
async def get_queue(request: web.Request, sign_in: SignIn) -> web.Response:
    """Priority first, then arrival; no names; only the requests offered to this clinician
    (their boards, or past overflow) or of the boards this supervisor covers."""
    store, user = request.app[STORE], sign_in.user
    ids = await store.requests.waiting(QUEUE_LIMIT)
    now_ms = request.app[CLOCK]()
    identifying = user.role is Role.CLINICIAN
    loaded = [
        r for r in await records.load_many(store, ids) if records.offered_to_user(user, r, now_ms)
    ]
    waiting = [records.queue_item(r, now_ms, identifying=identifying) for r in loaded]
    return answer(QueueOut(waiting=waiting))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/accept",
    summary="Accept a waiting request",
    idempotent=True,
    roles=(Role.CLINICIAN,),
    answer=RequestOut,
    errors={409: "Already assigned or no longer waiting"},
)
async def accept_request(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """Exactly one of several clinicians accepting at once gets 200; the others 409. The
    winner's retry with the same Idempotency-Key gets 200 with the same session again. Any
    clinician may try (`records.may_act_on`), so the record is not read first: the script
    answers 404 for a request that does not exist or is not offered to them."""
    record = await lifecycle.accept_request(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record))


@routes.endpoint(
    "POST",
    "/api/v1/queue/next",
    summary="Accept the first in service order",
    idempotent=True,
    roles=(Role.CLINICIAN,),
    answer=RequestOut,
    errors={404: "queue_empty: nobody is waiting"},
)
async def take_next(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """Take whoever is first in the queue; 404 queue_empty when nobody waits. A repeated
    Idempotency-Key answers the request the first call took and takes no other."""
    record = await lifecycle.take_next(
        request.app[STORE],
        sign_in.user,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/release",
    summary="Hand back to the queue",
    idempotent=True,
    roles=(Role.CLINICIAN,),
    body=ReleaseForm,
    answer=RequestOut,
    errors={409: "Not in session with you"},
)
async def release_request(
    request: web.Request, sign_in: SignIn, form: ReleaseForm, *, idempotency: Idempotency | None
) -> web.Response:
    """The assigned clinician puts the request back at its original place."""
    record = await actionable_record(request, sign_in)
    record = await lifecycle.release_request(
        request.app[STORE],
        sign_in.user,
        record.id,
        form.reason,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record))
