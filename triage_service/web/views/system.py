"""Health, the OpenAPI document and Prometheus metrics."""

from __future__ import annotations

import secrets
from typing import Literal

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from triage_service.web.api import ENDPOINTS, ApiRoutes
from triage_service.web.errors import ApiError
from triage_service.web.metrics import METRICS
from triage_service.web.openapi import openapi_document
from triage_service.web.state import SETTINGS, STORE

routes = ApiRoutes()
VERSION = "0.1.0"


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    redis: Literal["ok", "unreachable"]


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
    """200 when Redis answers PING, 503 when it does not."""
    try:
        await request.app[STORE].client.ping()
    except (aioredis.RedisError, OSError):
        return web.json_response({"status": "degraded", "redis": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "redis": "ok"})


@routes.endpoint(
    "GET", "/api/v1/openapi.json", summary="This document", signed_in=False, store=False
)
async def openapi(request: web.Request) -> web.Response:
    """OpenAPI 3.1 generated from the same models that validate requests."""
    return web.json_response(openapi_document(request.app[ENDPOINTS], version=VERSION))


@routes.endpoint(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    signed_in=False,
    media="text/plain",
    errors={401: "The metrics bearer token is configured and was not sent"},
)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; needs a bearer token when `metrics_token` is set."""
    token = request.app[SETTINGS].metrics_token
    if token and not secrets.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        raise ApiError(401, "not_signed_in", "Send the metrics bearer token.")
    store, gauges = request.app[STORE], request.app[METRICS]
    async with store.client.pipeline(transaction=False) as pipe:
        pipe.zcard(store.keys("queue"))
        pipe.scard(store.keys("active"))
        pipe.hvals(store.keys("clin:state"))
        waiting, in_session, states = await pipe.execute()
    gauges.waiting.set(waiting)
    gauges.in_session.set(in_session)
    for status in ("available", "busy", "offline"):
        gauges.clinicians.labels(status).set(states.count(status))
    body = generate_latest(gauges.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
