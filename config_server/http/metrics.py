"""``/actuator/prometheus`` and the middleware that times every request for it.

``metrics_middleware`` is the outermost middleware: it sees the final status (after the error
and audit middlewares made theirs) and reads the route template and any security refusal the
inner layers left on the request. A request no route matched (404, 405, a malformed path) has the
route ``""``. A request whose client went away (a cancelled long poll) is not recorded: it was
never answered.

``/actuator/prometheus`` needs the ``admin`` action once authentication is on (without any, the
server listens on loopback only and everything is open, this too).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from config_server.components import METRICS
from config_server.http.routes import ENDPOINT, Endpoint
from config_server.http.security import REFUSAL, THROTTLED
from config_server.metrics.server import ServerMetrics

__all__ = ["metrics_middleware", "prometheus"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request's duration by method, route template and status; count refusals; keep
    the count of requests being handled."""
    started = time.monotonic()
    status = 500
    metrics = request.app[METRICS]
    active = metrics.active_requests
    active.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except asyncio.CancelledError:
        status = 0
        raise
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        active.dec()
        if status:
            endpoint: Endpoint | None = request.get(ENDPOINT)
            metrics.observe_request(
                request.method, "" if endpoint is None else endpoint.route, status, time.monotonic() - started
            )
            _count_refusal(request, metrics, endpoint)


def _count_refusal(request: web.Request, metrics: ServerMetrics, endpoint: Endpoint | None) -> None:
    refusal = request.get(REFUSAL)
    if refusal is None:
        return
    event, reason = refusal
    if event == "denied":
        metrics.auth_denials.labels("" if endpoint is None else endpoint.action.value).inc()
        return
    metrics.auth_failures.labels(_failure_reason(request, reason)).inc()


def _failure_reason(request: web.Request, reason: str) -> str:
    """One of a few words (the gate's reasons may name a user: never a label value)."""
    if reason == THROTTLED:
        return "throttled"
    scheme = request.headers.get("Authorization", "").strip().partition(" ")[0].lower()
    if scheme in ("basic", "bearer"):
        return f"bad-{scheme}"
    if scheme:
        return "bad-scheme"
    return "bad-certificate" if "certificate" in reason else "missing-credentials"


async def prometheus(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /actuator/prometheus``: every metric, as text (or OpenMetrics when ``Accept`` asks)."""
    body, content_type = request.app[METRICS].scrape(request.headers.get("Accept"))
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type  # carries its own version and charset
    return response
