"""The request's span and its log line: the outermost middleware.

``telemetry_middleware`` opens the request's span (kind SERVER), child of the caller's W3C
``traceparent``/``tracestate`` when valid (``config_server.tracing``), so every later layer, the
audit line included, sees the caller's trace id; then it writes one log line per request on the
``config_server.access`` logger (INFO; WARNING for a 5xx)::

    message                      GET /{application}/{profile} 200
    http.request.method          GET
    http.route                   /{application}/{profile}    (the route template, never the path)
    http.response.status_code    200
    duration_ms                  3.1
    client.address               10.0.0.7
    user.id                      user:orders                 (the principal, once authenticated)

A request that ends without an answer (the client left, the server stops) is logged with
``error.type`` instead of a status. The span's name is ``METHOD ROUTE`` and carries the same
attributes (OpenTelemetry's HTTP server conventions).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from config_server import logs, tracing
from config_server.http.routes import ENDPOINT, Endpoint
from config_server.http.security import PRINCIPAL

__all__ = ["ACCESS_LOGGER", "telemetry_middleware"]

ACCESS_LOGGER = "config_server.access"
"""The logger of the one line per request."""

log = logging.getLogger(ACCESS_LOGGER)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def telemetry_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the request in its span and log its line once answered (see the module)."""
    parent = tracing.parse_traceparent(request.headers.get("traceparent"), request.headers.get("tracestate"))
    start = time.perf_counter()
    method = request.method
    with tracing.span(method, parent=parent, server=True, attributes={"http.request.method": method}) as span:
        status: int | None = None
        failure: str | None = None
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:  # a redirect aiohttp answers itself
            status = exc.status
            raise
        except BaseException as exc:  # a gone client (cancelled), a reset: no answer
            failure = type(exc).__qualname__
            raise
        finally:
            _finish(request, span, start, status, failure)


def _finish(
    request: web.Request, span: tracing.Span, start: float, status: int | None, failure: str | None
) -> None:
    endpoint: Endpoint | None = request.get(ENDPOINT)
    route = endpoint.route if endpoint is not None else None
    principal = request.get(PRINCIPAL)
    fields: dict[str, Any] = {
        "http.request.method": request.method,
        "http.route": route,
        "http.response.status_code": status,
        "duration_ms": round((time.perf_counter() - start) * 1000, 3),
        "client.address": request.remote,
        "user.id": principal.id if principal is not None else None,
        "error.type": failure,
    }
    if tracing.enabled():  # a light span (no SDK) records nothing
        if route is not None:
            span.rename(f"{request.method} {route}")
        for name, value in fields.items():
            if value is not None and name != "duration_ms":
                span.set(name, value)
    level = logging.WARNING if status is None or status >= 500 else logging.INFO
    outcome = status if status is not None else failure
    log.log(level, "%s %s %s", request.method, route or "-", outcome, extra=logs.fields(fields))
