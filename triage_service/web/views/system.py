"""Health, the OpenAPI document and Prometheus metrics."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from triage_service.domain.times import to_datetime
from triage_service.store import STORE_ERRORS, EmbeddedRedis, unavailable_reason
from triage_service.web.api import ENDPOINTS, ApiRoutes, answer
from triage_service.web.background import DISPATCHER
from triage_service.web.errors import ApiError
from triage_service.web.metrics import METRICS
from triage_service.web.openapi import OPENAPI_TEXT, openapi_document
from triage_service.web.state import CLOCK, DRAINING, EMBEDDED, SETTINGS, STORE, TASKS

routes = ApiRoutes()
VERSION = "0.1.0"


class EmbeddedRedisOut(BaseModel):
    """The embedded redis-server (when the instance runs one): whether it runs now, how often
    it was restarted from its AOF after exiting on its own, and its last such exit."""

    running: bool
    restarts: int
    last_exit_status: int | None
    last_exit_at: datetime | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    # ok, or why the store cannot serve (unreachable, out_of_memory, read_only, ...)
    redis: str
    embedded_redis: EmbeddedRedisOut | None = None
    failing_tasks: list[str] | None = None


@routes.endpoint(
    "GET",
    "/healthz",
    summary="Liveness and Redis reachability",
    signed_in=False,
    answer=HealthOut,
    store=False,
    errors={503: "Redis does not answer"},
    failure=HealthOut,
)
async def healthz(request: web.Request) -> web.Response:
    """200 when Redis takes a write and no background task keeps dying; else 503 degraded
    with the reason (redis: unreachable, out_of_memory, read_only, loading, busy; or the
    failing tasks). With the embedded redis-server, whether it runs and how often it was
    restarted after exiting on its own."""
    problem = await request.app[STORE].probe(now_ms=request.app[CLOCK]())
    embedded = request.app.get(EMBEDDED)
    failing = request.app[TASKS].failing()
    body = HealthOut(status="degraded" if problem or failing else "ok", redis=problem or "ok")
    if embedded:
        body.embedded_redis = embedded_state(embedded)
    if failing:
        body.failing_tasks = failing
    if problem or failing:
        return answer(body, 503, exclude_unset=True, headers={"Retry-After": "5"})
    return answer(body, exclude_unset=True)


def embedded_state(embedded: EmbeddedRedis) -> EmbeddedRedisOut:
    """The embedded server's state as `/healthz` shows it."""
    state = embedded.state()
    return EmbeddedRedisOut(
        running=state.running,
        restarts=state.restarts,
        last_exit_status=state.last_exit_status,
        last_exit_at=to_datetime(state.last_exit_ms),
    )


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    # The parts that fail: draining, redis, pubsub, tasks, replicas.
    failing: list[str]
    redis: str
    replicas: int | None = None
    failing_tasks: list[str] = []


@routes.endpoint(
    "GET",
    "/readyz",
    summary="Readiness: whether a load balancer should send this instance traffic",
    signed_in=False,
    answer=ReadyOut,
    store=False,
    errors={503: "Not ready: draining, or Redis, pub/sub, a task or the replicas failing"},
    failure=ReadyOut,
)
async def readyz(request: web.Request) -> web.Response:
    """200 when the instance is not draining, Redis takes a write, the wake-up listener is
    subscribed, no background task keeps dying and at least `redis_min_replicas` replicas
    are connected; else 503 naming the failing parts."""
    body = await readiness(request.app)
    status = 200 if body.status == "ready" else 503
    headers = {} if status == 200 else {"Retry-After": "5"}
    return answer(body, status, exclude_none=True, headers=headers)


async def readiness(app: web.Application) -> ReadyOut:
    """Check every part readiness needs (the store only when not draining)."""
    if app[DRAINING].is_set():
        return ReadyOut(status="not_ready", failing=["draining"], redis="not_checked")
    store, wanted = app[STORE], app[SETTINGS].redis_min_replicas
    failing, replicas = [], None
    problem = await store.probe(now_ms=app[CLOCK]())
    if problem:
        failing.append("redis")
    if not app[DISPATCHER].subscribed:
        failing.append("pubsub")
    if tasks := app[TASKS].failing():
        failing.append("tasks")
    if wanted and not problem:
        try:
            replicas = await store.replicas()
        except STORE_ERRORS as e:
            problem = unavailable_reason(e) or "error"
            failing.append("redis")
        if replicas is not None and replicas < wanted:
            failing.append("replicas")
    status: Literal["ready", "not_ready"] = "not_ready" if failing else "ready"
    return ReadyOut(
        status=status,
        failing=failing,
        redis=problem or "ok",
        replicas=replicas,
        failing_tasks=tasks,
    )


@routes.endpoint(
    "GET", "/api/v1/openapi.json", summary="This document", signed_in=False, store=False
)
async def openapi(request: web.Request) -> web.Response:
    """OpenAPI 3.1 generated from the same models that validate requests: once per app (its
    routes are fixed once it runs; making the document takes a third of a second of CPU, too
    dear to repeat for every caller of a route that needs no sign-in)."""
    made = request.app[OPENAPI_TEXT]
    if not made:
        made.append(json.dumps(openapi_document(request.app[ENDPOINTS], version=VERSION)))
    return web.Response(text=made[0], content_type="application/json")


@routes.endpoint(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    signed_in=False,
    media="text/plain",
    errors={
        401: "The bearer token was not sent, or none is configured and the service listens "
        "beyond loopback"
    },
)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; needs the bearer token when `metrics_token` is set, and is closed
    without one when the service listens beyond loopback."""
    settings = request.app[SETTINGS]
    token = settings.metrics_token
    if token is None and not settings.loopback_only:
        raise ApiError(
            401, "metrics_token_required", "Set TRIAGE_METRICS_TOKEN to read metrics here."
        )
    if token and not secrets.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        raise ApiError(401, "not_signed_in", "Send the metrics bearer token.")
    store, gauges = request.app[STORE], request.app[METRICS]
    now = await store.stats.gauges()
    gauges.waiting.set(now.waiting)
    gauges.in_session.set(now.in_session)
    for status in ("available", "busy", "offline"):
        gauges.clinicians.labels(status).set(now.states.count(status))
    for task, restarts in request.app[TASKS].restarts.items():
        gauges.task_restarts.labels(task).set(restarts)
    body = generate_latest(gauges.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
