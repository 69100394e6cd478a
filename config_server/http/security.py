"""The security middlewares: authenticate and authorise every request, audit it, harden responses.

``audit_middleware`` (outermost) writes one audit line per security-relevant request once its
answer is known (after the error middleware made it), and fails closed: a request that must be
audited but cannot be is answered 503 instead, so no secret leaves unaudited.
``auth_middleware`` (after the endpoint parser) asks the ``Gate`` who the caller is and whether the
policy lets them do what the endpoint asks; the verdict is on the request (``PRINCIPAL``).
``security_headers`` (a response-prepare signal, so error answers get them too) adds
``nosniff``, ``no-referrer``, ``Cache-Control: no-store`` and, over TLS, HSTS.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from config_server.auth.principal import ANONYMOUS, Principal
from config_server.cluster.signing import PEER_SIGNATURE_HEADER
from config_server.components import AUDITOR, GATE, WORKER_PORT
from config_server.errors import (
    ConfigServerError,
    Forbidden,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from config_server.http.bodies import body_limit
from config_server.http.errors import answer_error
from config_server.http.routes import ENDPOINT, Endpoint, EndpointKind
from config_server.tracing import current, parse_traceparent

__all__ = [
    "AUDIT_FIELDS",
    "PRINCIPAL",
    "REFUSAL",
    "THROTTLED",
    "audit_middleware",
    "auth_middleware",
    "body_limit_middleware",
    "security_headers",
    "trace_id",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


PRINCIPAL = web.RequestKey("principal", Principal)
"""The caller, once authenticated (``ANONYMOUS`` without credentials)."""
AUDIT_FIELDS: web.RequestKey[dict[str, Any]] = web.RequestKey("audit_fields")
"""What a handler adds to its request's audit line (``commit``, ``vault``); absent without an audit log."""

_EVENTS: Mapping[EndpointKind, str] = {
    EndpointKind.ENVIRONMENT: "read",
    EndpointKind.RENDERING: "read",
    EndpointKind.RESOURCE: "resource",
    EndpointKind.ENCRYPT: "encrypt",
    EndpointKind.ENCRYPT_STATUS: "encrypt",
    EndpointKind.DECRYPT: "decrypt",
    EndpointKind.KEY: "key",
    EndpointKind.MONITOR: "monitor",
}
"""The audit event of each endpoint kind; the others (health) are not audited when they succeed."""


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` header, or None when absent or invalid."""
    parsed = parse_traceparent(traceparent)
    return parsed.trace_id if parsed else None


def _peercert(request: web.Request) -> dict[str, Any] | None:
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    return cert or None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate the caller and authorise the endpoint (``Gate``); the principal goes on the request."""
    gate = request.app[GATE]
    request[PRINCIPAL] = ANONYMOUS
    peer_call = request[ENDPOINT].kind is EndpointKind.MONITOR and PEER_SIGNATURE_HEADER in request.headers
    if not peer_call and _on_worker_port(request):
        # A --workers worker's private port is plain HTTP on loopback: it would let a local
        # process skip TLS (and client certificates). It takes only its siblings' signed webhooks.
        request[REFUSAL] = ("denied", WORKER_PORT_ONLY)
        raise Forbidden(WORKER_PORT_ONLY)
    if peer_call:
        # A peer's forwarded webhook proves itself with --cluster-secret; the handler checks it.
        return await handler(request)
    try:
        principal = await gate.authenticate(
            authorization=request.headers.get("Authorization"),
            peercert=_peercert(request),
            address=request.remote or "",
        )
        request[PRINCIPAL] = principal
        gate.authorize(principal, request[ENDPOINT])
    except (Unauthenticated, TooManyRequests) as exc:
        reason = exc.reason if isinstance(exc, Unauthenticated) else THROTTLED
        request[REFUSAL] = ("auth-failure", reason)
        log.info("authentication refused from %s: %s", request.remote, reason)
        raise
    except Forbidden as exc:
        request[REFUSAL] = ("denied", exc.message)
        log.info("denied from %s: %s", request.remote, exc.message)
        raise
    return await handler(request)


WORKER_PORT_ONLY = "this worker port takes only webhooks forwarded by its sibling workers"
"""The refusal of anything but a signed peer webhook on a ``--workers`` worker's private port."""


def _on_worker_port(request: web.Request) -> bool:
    private = request.app.get(WORKER_PORT)
    if private is None or request.transport is None:
        return False
    local = request.transport.get_extra_info("sockname")
    return bool(local) and tuple(local[:2]) == tuple(private[:2])


THROTTLED = "too many failed attempts"
"""The refusal reason of an address past its failed-attempt limit (429)."""
REFUSAL = web.RequestKey("security_refusal", tuple)
"""``(event, reason)`` of a request the gate refused, for its audit line."""


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Write the request's audit line once it is answered; a line that cannot be written is a 503."""
    auditor = request.app[AUDITOR]
    if auditor is None:
        return await handler(request)
    request[AUDIT_FIELDS] = {}
    response = await handler(request)
    refusal = request.get(REFUSAL)
    endpoint: Endpoint | None = request.get(ENDPOINT)
    event = refusal[0] if refusal else None if endpoint is None else _EVENTS.get(endpoint.kind)
    if event is None:
        return response
    try:
        await auditor.record(event, **_fields(request, response.status))
    except ConfigServerError as exc:
        log.error("refusing %s %s: %s", request.method, request.rel_url.raw_path, exc.message)
        return answer_error(Unavailable("The audit log cannot be written; try again later"), request)
    return response


def _fields(request: web.Request, status: int) -> dict[str, Any]:
    principal = request.get(PRINCIPAL, ANONYMOUS)
    endpoint: Endpoint | None = request.get(ENDPOINT)
    fields: dict[str, Any] = {
        "principal": principal.id,
        "auth": principal.method.value,
        "address": request.remote,
        "status": status,
    }
    if endpoint is not None:
        fields["action"] = endpoint.action.value
        if endpoint.applications:
            fields["application"] = ",".join(endpoint.applications)
        if endpoint.profiles:
            fields["profiles"] = ",".join(endpoint.profiles)
        labels = request.app[GATE].labels_of(endpoint)
        if labels:
            fields["label"] = ",".join(labels)
    refusal = request.get(REFUSAL)
    if refusal:
        fields["reason"] = refusal[1]
    added: dict[str, Any] = request[AUDIT_FIELDS]
    fields.update(added)
    # The request's span (http.telemetry) carries the caller's trace id, or a new one.
    span = current()
    traced = span.trace_id if span is not None else trace_id(request.headers.get("traceparent"))
    if traced is not None:
        fields["trace_id"] = traced
    return fields


@web.middleware
async def body_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a body larger than its endpoint takes (413) before anyone reads it."""
    limit = body_limit(request[ENDPOINT].kind)
    length = request.content_length
    if (length is not None and length > limit) or (limit == 0 and request.body_exists and length != 0):
        raise PayloadTooLarge(limit)
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers every answer carries (errors included)."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    # Configuration and secrets must not sit in a proxy's or a browser's cache.
    headers["Cache-Control"] = "no-store"
    if request.secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
