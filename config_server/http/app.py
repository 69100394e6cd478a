"""The aiohttp application: its middlewares and its route table, nothing else.

``create_app(settings)`` installs the server's resources (``components``, the composition root),
the middlewares (metrics outermost, timing the whole answer; then the request's span and log
line (``http.telemetry``), the audit, errors, the endpoint parser that every later layer reads,
body limits, authentication and authorisation; see ``http.security``), the security headers, and
one route that hands each request to the handler of its endpoint kind. Handlers are thin: they
read the parsed endpoint, call the service, serialise; ``http.errors`` owns every error status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from config_server import components
from config_server.errortracking import ErrorTracker
from config_server.http import clients, encryption, environment, monitor, openapi
from config_server.http.errors import ERROR_TRACKER, error_middleware, quiet_raw_requests
from config_server.http.health import health
from config_server.http.metrics import metrics_middleware, prometheus
from config_server.http.probes import liveness, readiness_probe
from config_server.http.routes import ENDPOINT, Endpoint, EndpointKind, parse_endpoint
from config_server.http.security import (
    audit_middleware,
    auth_middleware,
    body_limit_middleware,
    security_headers,
)
from config_server.http.telemetry import telemetry_middleware
from config_server.settings import Settings

__all__ = ["HANDLERS", "RUNNER_OPTIONS", "create_app", "endpoint_middleware"]

log = logging.getLogger(__name__)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EndpointHandler = Callable[[web.Request, Endpoint], Awaitable[web.StreamResponse]]

RUNNER_OPTIONS: dict[str, Any] = {
    # A client that disconnects cancels its handler, so an abandoned long poll frees its watcher at
    # once instead of holding it (and being recomputed for) the rest of its wait.
    "handler_cancellation": True,
}
"""Options for aiohttp's runner (``web.run_app`` / ``AppRunner``) that the app relies on."""


def create_app(settings: Settings) -> web.Application:
    """Build the server application for ``settings`` (resources start with the app)."""
    quiet_raw_requests()
    app = web.Application(
        middlewares=[
            metrics_middleware,  # outermost: it times the whole answer, audit's 503 included
            telemetry_middleware,  # the request's span and its log line
            audit_middleware,  # it sees the answer the error middleware made
            error_middleware,
            endpoint_middleware,
            body_limit_middleware,
            auth_middleware,
        ],
        client_max_size=1024 * 1024,
    )
    app.on_response_prepare.append(security_headers)
    app[ERROR_TRACKER] = ErrorTracker()
    components.install(app, settings)
    add_routes(app)
    return app


@web.middleware
async def endpoint_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Parse the request's endpoint once (``request[ENDPOINT]``) for every later layer."""
    request[ENDPOINT] = parse_endpoint(request.method, request.rel_url.raw_path, request.query)
    return await handler(request)


HANDLERS: Mapping[EndpointKind, EndpointHandler] = {
    EndpointKind.ENVIRONMENT: environment.environment,
    EndpointKind.RENDERING: environment.rendering,
    EndpointKind.RESOURCE: environment.resource,
    EndpointKind.ENCRYPT: encryption.encrypt,
    EndpointKind.DECRYPT: encryption.decrypt,
    EndpointKind.ENCRYPT_STATUS: encryption.status,
    EndpointKind.KEY: encryption.key,
    EndpointKind.MONITOR: monitor.monitor,
    EndpointKind.HEALTH: health,
    EndpointKind.LIVENESS: liveness,
    EndpointKind.READINESS: readiness_probe,
    EndpointKind.PROMETHEUS: prometheus,
    EndpointKind.CLIENTS: clients.clients,
    EndpointKind.OPENAPI: openapi.openapi,
}
"""The handler of each endpoint kind: the route table (``routes``) decides which kind a request is."""


async def _route(request: web.Request) -> web.StreamResponse:
    endpoint = request[ENDPOINT]
    return await HANDLERS[endpoint.kind](request, endpoint)


def add_routes(app: web.Application) -> None:
    """One aiohttp route takes every method and path: ``routes.parse_endpoint`` is the table."""
    app.router.add_route("*", "/{tail:[\\s\\S]*}", _route)  # newlines too: routes/names judge them
