"""Transfers of a request in session to a named colleague on duty: offer, answer, lists."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from triage_service.domain.answers import RequestOut
from triage_service.domain.codes import Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.transfer_offers import TransferOffers
from triage_service.domain.transfers import Colleagues, TransferForm
from triage_service.live.transfers import offered
from triage_service.service import transfers
from triage_service.service.sessions import SignIn
from triage_service.store import Request
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.requests import shaped, visible_record

routes = ApiRoutes()
CLINICIANS = (Role.CLINICIAN,)


class TransferAnswer(BaseModel):
    """The end of an offer for the colleague who declined it."""

    request_id: str
    state: str


async def assigned_record(request: web.Request, sign_in: SignIn) -> Request:
    """The record for its clinician's change (404 unless they may see it; the script then
    answers 403 when they are not its clinician in session)."""
    return await visible_record(request, sign_in)


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/transfer",
    summary="Offer the request to a colleague on duty",
    roles=CLINICIANS,
    body=TransferForm,
    answer=RequestOut,
    status=202,
    idempotent=True,
    errors={403: "not_assigned", 409: "transfer_pending or not in session"},
)
async def offer_transfer(
    request: web.Request, sign_in: SignIn, form: TransferForm, *, idempotency: Idempotency | None
) -> web.Response:
    """The assigned clinician offers it; the colleague has 60 s to accept or decline."""
    record = await assigned_record(request, sign_in)
    record = await transfers.offer_transfer(
        request.app[STORE],
        sign_in.user,
        record.id,
        form.to,
        form.note,
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record), status=202)


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/transfer/accept",
    summary="Take over a request offered to me",
    idempotent=True,
    roles=CLINICIANS,
    answer=RequestOut,
    errors={409: "offer_lapsed or already_in_session"},
)
async def accept_transfer(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """The offered colleague becomes the assigned clinician; the first one's access ends as
    on release (404 when no offer to them exists)."""
    record = await transfers.accept_transfer(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(await shaped(request, sign_in, record))


@routes.endpoint(
    "POST",
    "/api/v1/requests/{id}/transfer/decline",
    summary="Decline a request offered to me",
    idempotent=True,
    roles=CLINICIANS,
    answer=TransferAnswer,
)
async def decline_transfer(
    request: web.Request, sign_in: SignIn, *, idempotency: Idempotency | None
) -> web.Response:
    """The first clinician keeps the request and is told."""
    record = await transfers.decline_transfer(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        now_ms=request.app[CLOCK](),
        idempotency=idempotency,
    )
    return answer(TransferAnswer(request_id=record.id, state="declined"))


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/transfer/colleagues",
    summary="Colleagues on duty I could transfer to",
    roles=CLINICIANS,
    answer=Colleagues,
)
async def list_colleagues(request: web.Request, sign_in: SignIn) -> web.Response:
    """Clinicians available with a live console, covering the request's board, not in a
    session, not the reader."""
    record = await assigned_record(request, sign_in)
    found = await transfers.colleagues(
        request.app[STORE],
        request.app[SETTINGS].areas,
        sign_in.user,
        record.id,
        now_ms=request.app[CLOCK](),
    )
    return answer(Colleagues(colleagues=found))


@routes.endpoint(
    "GET",
    "/api/v1/transfers",
    summary="Offers waiting for my answer",
    roles=CLINICIANS,
    answer=TransferOffers,
)
async def list_offers(request: web.Request, sign_in: SignIn) -> web.Response:
    """The pending offers to the reader (a page that reloads shows them again)."""
    now_ms = request.app[CLOCK]()
    found = await transfers.offers_to(request.app[STORE], sign_in.user, now_ms=now_ms)
    offers = [o for o in (offered(r, now_ms) for r in found) if o is not None]
    return answer(TransferOffers(offers=offers))
