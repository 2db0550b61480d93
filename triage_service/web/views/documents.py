"""Printable documents: the clinical handover and the s298 notice (HTML, print CSS); every
view is recorded in the access log."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.codes import TRIAGE_MEANING, Role
from triage_service.service import documents
from triage_service.service.audit import record_access
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes
from triage_service.web.state import CLOCK, STORE
from triage_service.web.views.pages import render

routes = ApiRoutes()
HTML = "text/html"


async def audited(request: web.Request, sign_in: SignIn, action: str, request_id: str) -> None:
    """Record the view of a document in the access log."""
    await record_access(
        request.app[STORE],
        sign_in.user,
        action=action,
        request_id=request_id,
        reason=request.headers.get("X-Access-Reason"),
        now_ms=request.app[CLOCK](),
    )


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/handover",
    summary="The printable clinical handover to the receiving team",
    roles=(Role.CLINICIAN, Role.RECEIVER),
    media=HTML,
)
async def handover(request: web.Request, sign_in: SignIn) -> web.Response:
    """For the assigned clinician and the referral's receiving team; anyone else 404."""
    now_ms = request.app[CLOCK]()
    found = await documents.handover(
        request.app[STORE], sign_in.user, request.match_info["id"], now_ms=now_ms
    )
    await audited(request, sign_in, "handover", found.record["id"])
    return render(
        request,
        "handover.html",
        record=found.record,
        form=found.form,
        outcome=found.outcome,
        referral=found.referral,
        service_name=found.referral.service.replace("_", " "),
        triage_meaning=TRIAGE_MEANING[found.outcome.triage_code],
        due_at=documents.printed_time(int(found.referral.due_at.timestamp() * 1000)),
        assessed_at=documents.printed_time(found.record.get("completed_ms")),
        printed_at=documents.printed_time(now_ms),
    )


@routes.endpoint(
    "GET",
    "/api/v1/referrals/{id}/s298-notice",
    summary="The printable s298 notice to the Mental Welfare Commission",
    roles=(Role.CLINICIAN, Role.SUPERVISOR),
    media=HTML,
)
async def s298_notice(request: web.Request, sign_in: SignIn) -> web.Response:
    """For the clinician who filed the s297 removal and for supervisors; others 404."""
    now_ms = request.app[CLOCK]()
    found = await documents.s298_notice(
        request.app[STORE], sign_in.user, request.match_info["id"], now_ms=now_ms
    )
    await audited(request, sign_in, "s298_notice", found.record["id"])
    pos = found.outcome.place_of_safety
    assert pos is not None
    return render(
        request,
        "s298_notice.html",
        record=found.record,
        form=found.form,
        pos=pos,
        notice=found.notice,
        removed_at=documents.printed_time(int(pos.removed_at.timestamp() * 1000)),
        due_at=documents.printed_time(int(found.notice.due_at.timestamp() * 1000)),
        assessed_at=documents.printed_time(found.record.get("completed_ms")),
        printed_at=documents.printed_time(now_ms),
        yes_no=yes_no,
    )


def yes_no(value: bool | None) -> str:
    """Yes, No, or Not recorded."""
    return "Not recorded" if value is None else "Yes" if value else "No"
