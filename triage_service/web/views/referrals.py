"""Follow-up referrals: the list with due times (a receiving team's inbox for receivers) and
status updates."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import ReferralList, ReferralOut
from triage_service.domain.codes import Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import ReferralUpdate
from triage_service.domain.queries import ReferralQuery
from triage_service.service import alarms, referrals
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()


async def visible_referrals(
    request: web.Request, sign_in: SignIn, query: ReferralQuery
) -> list[ReferralOut]:
    """The referrals this reader may list: a receiver's team's, a clinician's (all, or those
    they made), a supervisor's without contact or note."""
    store, now_ms, user = request.app[STORE], request.app[CLOCK](), sign_in.user
    directory = request.app[SETTINGS].areas
    if user.role is Role.RECEIVER:
        return await referrals.team_inbox(
            store, user, query.status, now_ms=now_ms, directory=directory
        )
    mine = user if query.mine and user.role is Role.CLINICIAN else None
    found = await referrals.list_referrals(
        store, query.status, now_ms=now_ms, mine=mine, directory=directory
    )
    if user.role is Role.CLINICIAN:
        found = await referrals.of_clinician(store, user, found)
    if user.role is Role.SUPERVISOR:
        found = await referrals.of_boards(store, user, found)
        found = [r.model_copy(update={"contact": None, "note": None}) for r in found]
    return found


@routes.endpoint(
    "GET",
    "/api/v1/referrals",
    summary="Referrals: open, overdue or all (receivers: their team's, with the handover)",
    roles=(Role.CLINICIAN, Role.SUPERVISOR, Role.RECEIVER),
    query=ReferralQuery,
    answer=ReferralList,
    audited="referral",
)
async def list_referrals(
    request: web.Request, sign_in: SignIn, query: ReferralQuery, *, access: AccessLog
) -> web.Response:
    """Open and overdue soonest due first; all newest first; a clinician's own only (those of
    requests they are or were assigned to)."""
    found = await visible_referrals(request, sign_in, query)
    await access.record([r.request_id for r in found])
    return answer(ReferralList(referrals=found))


@routes.endpoint(
    "PATCH",
    "/api/v1/referrals/{id}",
    summary="Update a referral's status",
    roles=(Role.CLINICIAN, Role.RECEIVER),
    body=ReferralUpdate,
    answer=ReferralOut,
    errors={409: "The referral is already closed, or cannot move to that status"},
    idempotent=True,
)
async def update_referral(
    request: web.Request,
    sign_in: SignIn,
    update: ReferralUpdate,
    *,
    idempotency: Idempotency | None,
) -> web.Response:
    """Receivers: accepted, declined, completed, did_not_attend on their team's referrals;
    clinicians: accepted, completed, did_not_attend, cancelled, and only on referrals they
    made (404 otherwise: a clinician who released the request reads it, never changes it).
    Each status keeps its time; a decline alarms."""
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    referral = await referrals.update_referral(
        store,
        request.match_info["id"],
        update.status,
        update.note,
        actor=sign_in.user,
        now_ms=now_ms,
        directory=request.app[SETTINGS].areas,
        idempotency=idempotency,
    )
    if update.status == "declined":
        await alarms.referral_declined(store, request.app[SETTINGS], referral.id, now_ms=now_ms)
    return answer(referral)
