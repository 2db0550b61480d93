"""Follow-up referrals: the list with due times and status updates."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.codes import Role
from triage_service.domain.models import ReferralList, ReferralOut, ReferralQuery, ReferralUpdate
from triage_service.service import referrals
from triage_service.service.audit import record_accesses
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.state import CLOCK, STORE

routes = ApiRoutes()


@routes.endpoint(
    "GET",
    "/api/v1/referrals",
    summary="Referrals: open, overdue or all",
    roles=(Role.CLINICIAN, Role.SUPERVISOR),
    query=ReferralQuery,
    answer=ReferralList,
)
async def list_referrals(
    request: web.Request, sign_in: SignIn, query: ReferralQuery
) -> web.Response:
    """Open and overdue soonest due first; all newest first; a clinician's own only (those of
    requests they are or were assigned to)."""
    found = await referrals.list_referrals(
        request.app[STORE], query.status, now_ms=request.app[CLOCK]()
    )
    if sign_in.user.role is Role.CLINICIAN:
        found = await referrals.of_clinician(request.app[STORE], sign_in.user, found)
    await record_accesses(
        request.app[STORE],
        sign_in.user,
        action="referral",
        request_ids=[r.request_id for r in found],
        reason=request.headers.get("X-Access-Reason"),
        now_ms=request.app[CLOCK](),
    )
    if sign_in.user.role is Role.SUPERVISOR:
        found = [r.model_copy(update={"contact": None, "note": None}) for r in found]
    return answer(ReferralList(referrals=found))


@routes.endpoint(
    "PATCH",
    "/api/v1/referrals/{id}",
    summary="Update a referral's status",
    roles=(Role.CLINICIAN,),
    body=ReferralUpdate,
    answer=ReferralOut,
    errors={409: "The referral is already closed"},
)
async def update_referral(
    request: web.Request, sign_in: SignIn, update: ReferralUpdate
) -> web.Response:
    """Accepted, completed, did not attend or cancelled; closed ones answer 409; a referral
    of a request the clinician was never assigned to is 404."""
    await referrals.ensure_assigned(request.app[STORE], sign_in.user, request.match_info["id"])
    referral = await referrals.update_referral(
        request.app[STORE],
        request.match_info["id"],
        update.status,
        update.note,
        actor_id=sign_in.user.id,
        now_ms=request.app[CLOCK](),
    )
    return answer(referral)
