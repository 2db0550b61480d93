"""Supervisors' alarms: the open (or every) alarm, newest first, and acknowledging one."""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import AlarmBatchOut, AlarmList, AlarmOut
from triage_service.domain.codes import STATS_ROLES, Role
from triage_service.domain.idempotency import Idempotency
from triage_service.domain.models import AlarmAck, AlarmBatchAck
from triage_service.service import alarms
from triage_service.service.alarm_batch import acknowledge_many
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, SETTINGS, STORE

routes = ApiRoutes()


@routes.endpoint(
    "GET", "/api/v1/alarms", summary="Alarms, newest first", roles=STATS_ROLES, answer=AlarmList
)
async def list_alarms(request: web.Request, sign_in: SignIn) -> web.Response:
    """`status=open` (default: neither acknowledged nor resolved) or `all`, of the boards
    the reader covers; 422 for anything else."""
    status = request.query.get("status", "open")
    if status not in ("open", "all"):
        raise ApiError(
            422, "validation_error", "status must be open or all.", fields={"status": "open|all"}
        )
    found = await alarms.list_alarms(
        request.app[STORE],
        "open" if status == "open" else "all",
        reader=sign_in.user,
        areas=request.app[SETTINGS].areas,
    )
    return answer(AlarmList(alarms=found))


@routes.endpoint(
    "POST",
    "/api/v1/alarms/{id}/ack",
    summary="Acknowledge an alarm",
    roles=(Role.SUPERVISOR,),  # a clinical decision: admins read alarms, never close them
    body=AlarmAck,
    answer=AlarmOut,
    errors={409: "already_acknowledged: the alarm was acknowledged before"},
    idempotent=True,
)
async def acknowledge(
    request: web.Request, sign_in: SignIn, form: AlarmAck, *, idempotency: Idempotency | None
) -> web.Response:
    """Once per alarm (409 already_acknowledged after); stops its escalation; another
    board's alarm is 404."""
    alarm = await alarms.acknowledge(
        request.app[STORE],
        sign_in.user,
        request.match_info["id"],
        form.note,
        now_ms=request.app[CLOCK](),
        areas=request.app[SETTINGS].areas,
        idempotency=idempotency,
    )
    return answer(alarm)


@routes.endpoint(
    "POST",
    "/api/v1/alarms/ack",
    summary="Acknowledge several alarms with one note",
    roles=(Role.SUPERVISOR,),
    body=AlarmBatchAck,
    answer=AlarmBatchOut,
    idempotent=True,
)
async def acknowledge_batch(
    request: web.Request,
    sign_in: SignIn,
    form: AlarmBatchAck,
    *,
    idempotency: Idempotency | None,
) -> web.Response:
    """Each named alarm as if acknowledged alone; those already acknowledged, unknown or of
    another board are listed as skipped (200 all the same)."""
    done = await acknowledge_many(
        request.app[STORE],
        sign_in.user,
        form.ids,
        form.note,
        now_ms=request.app[CLOCK](),
        areas=request.app[SETTINGS].areas,
        idempotency=idempotency,
    )
    return answer(done)
