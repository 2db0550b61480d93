"""Printable documents: the clinical handover and the s298 notice (HTML, print CSS); every
view is recorded in the access log. The s298 notice's detention end and result are set here."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from triage_service.domain.answers import PlaceOfSafetyOut
from triage_service.domain.codes import TRIAGE_MEANING, ReferralStatus, Role
from triage_service.domain.models import PlaceOfSafetyUpdate
from triage_service.service import documents
from triage_service.service.sessions import SignIn
from triage_service.service.transfer_view import clinician_names
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.audited import AccessLog
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.pages import render

routes = ApiRoutes()
HTML = "text/html"


@routes.endpoint(
    "GET",
    "/api/v1/requests/{id}/handover",
    summary="The printable clinical handover to the receiving team",
    roles=(Role.CLINICIAN, Role.RECEIVER),
    media=HTML,
    audited="handover",
)
async def handover(request: web.Request, sign_in: SignIn, *, access: AccessLog) -> web.Response:
    """For the assigned clinician and the referral's receiving team; anyone else 404. Where
    the person is, what was found, who to call back, every time in the board's local time."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    found = await documents.handover(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        now_ms=now_ms,
        directory=settings.areas,
    )
    await access.record([found.record.id])
    zone = documents.local_zone(settings.areas, found.record)
    return render(
        request,
        "handover.html",
        record=found.record,
        form=found.form,
        outcome=found.outcome,
        referral=found.referral,
        area=found.area,
        clinician_phone=found.clinician_phone,
        clinicians=clinician_names(found.record),
        cssrs=cssrs_answers(found.form),
        service_name=found.referral.service.replace("_", " "),
        triage_meaning=TRIAGE_MEANING[found.outcome.triage_code],
        due_at=documents.printed_time(found.referral.due_at, zone),
        asked_at=documents.printed_time(found.record.created_ms, zone),
        assessed_at=documents.printed_time(found.record.completed_ms, zone),
        printed_at=documents.printed_time(now_ms, zone),
        zone=zone.key,
    )


# The C-SSRS screener's questions as the handover prints them.
CSSRS_QUESTIONS = (
    ("q1", "1. Wished to be dead"),
    ("q2", "2. Thoughts of killing themselves"),
    ("q3", "3. Thought about how"),
    ("q4", "4. Some intention of acting"),
    ("q5", "5. Worked out details, intends to act"),
    ("q6_lifetime", "6. Ever done, started or prepared anything"),
    ("q6_recent", "6a. ... in the past 3 months"),
)


def cssrs_answers(form: dict[str, Any]) -> list[tuple[str, str]]:
    """Each C-SSRS question with Yes, No or Not asked (empty when the screen was not used)."""
    cssrs = (form.get("screening") or {}).get("cssrs") or {}
    if not cssrs:
        return []
    return [(text, yes_no(cssrs.get(q), "Not asked")) for q, text in CSSRS_QUESTIONS]


@routes.endpoint(
    "GET",
    "/api/v1/referrals/{id}/s298-notice",
    summary="The printable s298 notice to the Mental Welfare Commission",
    roles=(Role.CLINICIAN, Role.SUPERVISOR),
    media=HTML,
    audited="s298_notice",
)
async def s298_notice(request: web.Request, sign_in: SignIn, *, access: AccessLog) -> web.Response:
    """For the clinician who filed the s297 removal and the supervisors of its board; others
    404. Names the constable and the incident, the end of the detention and its result."""
    now_ms, settings = request.app[CLOCK](), request.app[SETTINGS]
    found = await documents.s298_notice(
        request.app[STORE], sign_in.user, request.match_info["id"], now_ms=now_ms
    )
    await access.record([found.record.id])
    pos = found.removal
    zone = documents.local_zone(settings.areas, found.record)
    return render(
        request,
        "s298_notice.html",
        record=found.record,
        form=found.form,
        pos=pos,
        notice=found.notice,
        detention=found.detention,
        sent=found.notice.status is ReferralStatus.COMPLETED,
        result_text=RESULTS.get(found.detention.result or "", "Not yet recorded"),
        removed_at=documents.printed_time(pos.removed_at, zone),
        ended_at=documents.printed_time(found.detention.ended_at, zone),
        due_at=documents.printed_time(found.notice.due_at, zone),
        sent_at=documents.printed_time(found.notice.completed_at, zone),
        assessed_at=documents.printed_time(found.record.completed_ms, zone),
        printed_at=documents.printed_time(now_ms, zone),
        zone=zone.key,
        yes_no=yes_no,
    )


RESULTS = {
    "released": "Released: no further detention",
    "informal_admission": "Admitted informally (by agreement)",
    "emergency_detention": "Emergency detention certificate (s36)",
    "short_term_detention": "Short-term detention certificate (s44)",
    "other": "Other (see the note)",
}


@routes.endpoint(
    "PATCH",
    "/api/v1/requests/{id}/place-of-safety",
    summary="Record the end of an s297 detention and the examination's result (s298)",
    roles=(Role.CLINICIAN, Role.SUPERVISOR),
    body=PlaceOfSafetyUpdate,
    answer=PlaceOfSafetyOut,
)
async def update_place_of_safety(
    request: web.Request, sign_in: SignIn, change: PlaceOfSafetyUpdate
) -> web.Response:
    """The filing clinician or a supervisor of the board; 404 for anyone else or a request
    without an s297 removal; the end is between the removal and now (422 `ended_at`)."""
    found = await documents.update_place_of_safety(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        change,
        now_ms=request.app[CLOCK](),
    )
    return answer(found)


def yes_no(value: bool | None, unknown: str = "Not recorded") -> str:
    """Yes, No, or (for None) `unknown`."""
    return unknown if value is None else "Yes" if value else "No"
