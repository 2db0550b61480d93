"""Health, the OpenAPI document and Prometheus metrics."""

from __future__ import annotations

import secrets

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from triage_service.web.api import ENDPOINTS, ApiRoutes
from triage_service.web.errors import ApiError
from triage_service.web.metrics import METRICS
from triage_service.web.openapi import openapi_document
from triage_service.web.state import CLOCK, SETTINGS, STORE, TASKS

routes = ApiRoutes()
VERSION = "0.1.0"


@routes.endpoint("GET", "/healthz", summary="Liveness and Redis reachability", signed_in=False)
async def healthz(request: web.Request) -> web.Response:
    """200 when Redis takes a write and no background task keeps dying; else 503 degraded
    with the reason (redis: unreachable, out_of_memory, read_only, loading, busy; or the
    failing tasks)."""
    problem = await request.app[STORE].probe(now_ms=request.app[CLOCK]())
    body: dict[str, object] = {"status": "ok", "redis": problem or "ok"}
    if failing := request.app[TASKS].failing():
        body["failing_tasks"] = failing
    if problem or failing:
        body["status"] = "degraded"
        return web.json_response(body, status=503, headers={"Retry-After": "5"})
    return web.json_response(body)


@routes.endpoint("GET", "/api/v1/openapi.json", summary="This document", signed_in=False)
async def openapi(request: web.Request) -> web.Response:
    """OpenAPI 3.1 generated from the same models that validate requests."""
    return web.json_response(openapi_document(request.app[ENDPOINTS], version=VERSION))


@routes.endpoint("GET", "/metrics", summary="Prometheus metrics", signed_in=False)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; needs a bearer token when `metrics_token` is set."""
    token = request.app[SETTINGS].metrics_token
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
