"""Supervisors' alarms: the open (or every) alarm, newest first, and acknowledging one."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import AlarmList, AlarmOut
from triage_service.domain.codes import STATS_ROLES, Role
from triage_service.domain.models import AlarmAck
from triage_service.service import alarms
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, STORE

routes = ApiRoutes()


@routes.endpoint(
    "GET", "/api/v1/alarms", summary="Alarms, newest first", roles=STATS_ROLES, answer=AlarmList
)
async def list_alarms(request: web.Request, sign_in: SignIn) -> web.Response:
    """`status=open` (default) or `all`; 422 for anything else."""
    status = request.query.get("status", "open")
    if status not in ("open", "all"):
        raise ApiError(
            422, "validation_error", "status must be open or all.", fields={"status": "open|all"}
        )
    found = await alarms.list_alarms(request.app[STORE], "open" if status == "open" else "all")
    return answer(AlarmList(alarms=found))


@routes.endpoint(
    "POST",
    "/api/v1/alarms/{id}/ack",
    summary="Acknowledge an alarm",
    roles=(Role.SUPERVISOR,),  # a clinical decision: admins read alarms, never close them
    body=AlarmAck,
    answer=AlarmOut,
    errors={409: "already_acknowledged: the alarm was acknowledged before"},
)
async def acknowledge(request: web.Request, sign_in: SignIn, form: AlarmAck) -> web.Response:
    """Once per alarm (409 already_acknowledged after); stops its escalation."""
    alarm = await alarms.acknowledge(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        form.note,
        now_ms=request.app[CLOCK](),
    )
    return answer(alarm)
