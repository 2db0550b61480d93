"""Prometheus metrics: HTTP traffic per route and the live queue, on a per-app registry."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from triage_service.web.errors import Handler


class Metrics:
    """The service's metrics, registered on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "triage_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "triage_http_request_seconds", "HTTP answer time", ["route"], registry=self.registry
        )
        self.waiting = Gauge("triage_queue_waiting", "Requests waiting", registry=self.registry)
        self.in_session = Gauge("triage_in_session", "Requests in session", registry=self.registry)
        self.clinicians = Gauge(
            "triage_clinicians", "Clinicians by availability", ["status"], registry=self.registry
        )
        self.task_restarts = Gauge(
            "triage_task_restarts",
            "Restarts of each background task since this instance started",
            ["task"],
            registry=self.registry,
        )
        self.websockets = Gauge(
            "triage_websockets",
            "Open live-channel sockets on this instance",
            registry=self.registry,
        )


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every answer (errors included, it sits outside the error middleware)
    by its route pattern (not its concrete path) and its real status."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects pass the error middleware as exceptions
        _count(request, e.status, started)
        raise
    _count(request, response.status, started)
    return response


def _count(request: web.Request, status: int, started: float) -> None:
    info = request.match_info.route.resource
    route = info.canonical if info is not None else "unmatched"
    metrics = request.app[METRICS]
    metrics.http_requests.labels(request.method, route, status).inc()
    metrics.http_seconds.labels(route).observe(time.perf_counter() - started)
