"""The one place that maps exceptions to HTTP statuses and bodies: the error middleware.

Every error becomes Spring Boot's body
``{"timestamp": ..., "status": 404, "error": "Not Found", "message": "...", "path": "/x/y"}``,
with the exception's ``headers`` on the response::

    exception (config_server.errors)    status  message                 headers
    ─────────────────────────────────── ──────  ──────────────────────  ─────────────────
    InvalidRequest                      400     exc.message
    MethodNotAllowed                    405     exc.message             Allow
    PayloadTooLarge                     413     exc.message
    Unauthenticated                     401     exc.message             WWW-Authenticate
    WebhookSignatureInvalid             401     exc.message
    Forbidden                           403     exc.message
    NotFound, LabelNotFound,
      ResourceNotFound,
      EnvironmentNotFound               404     exc.message
    InvalidConfiguration                500     exc.message (logged)
    Unavailable                         503     exc.message (logged)
    TooManyRequests                     429     exc.message             Retry-After
    CryptoError, DecryptionFailed,
      ServerSideDecryptionUnsupported,
      KeyFormatError, WeakEncryption    400     exc.message
    NoKey, NoPublicKey                  404     exc.message
    ConfigServerError (any other)       500     exc.message (logged)
    web.HTTPException (4xx, 5xx)        its own exc.reason              Allow, WWW-Authenticate kept
    web.HTTPException (1xx-3xx),
      ConnectionResetError, TimeoutError  re-raised for aiohttp (a redirect, a gone client)
    anything else                       500     "Internal error (error  X-Error-Id
                                                id ID)"                 (errortracking: logged
                                                                        once a minute per
                                                                        fingerprint, counted)

A CryptoError raised while serving an encryption endpoint (``/encrypt``, ``/decrypt``,
``/encrypt/status``, ``/key``: the request's parsed ``Endpoint`` says so) is answered instead in
the shape of Spring's encryption controller (reference §1.4), ``{"status": CODE, "description": TEXT}``::

    exception                           status  CODE         TEXT
    ─────────────────────────────────── ──────  ───────────  ───────────────────────────────────────────
    NoKey                               404     NO_KEY       No key was installed for encryption service
    NoPublicKey                         404     NOT_FOUND    No public key available
    DecryptionFailed, CryptoError       400     INVALID      Text not encrypted with this key
    ServerSideDecryptionUnsupported     400     BAD_REQUEST  Server-side decryption is not supported
    KeyFormatError                      400     BAD_REQUEST  exc.message
    WeakEncryption                      404     INVALID      The encryption algorithm is not strong enough

Anywhere else a CryptoError gets the Spring Boot body of the first table; in an environment
request it does not arise at all, as a value that cannot be decrypted is served as
``invalid.<key>: <n/a>`` (``crypto.environment``). Known errors keep their message, which never
holds a secret; request headers are never echoed back, and no body holds a stack trace.

Errors met before a request reaches the application (a request the HTTP parser rejects: 400, or
431 for a header too large; a connection over the per-address cap: 429; a request head that took
too long: 408) get the same Spring Boot body from ``http.protocol``, with an empty ``path``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from config_server.errors import (
    ConfigServerError,
    CryptoError,
    DecryptionFailed,
    EnvironmentNotFound,
    Forbidden,
    InvalidConfiguration,
    InvalidRequest,
    KeyFormatError,
    LabelNotFound,
    MethodNotAllowed,
    NoKey,
    NoPublicKey,
    NotFound,
    PayloadTooLarge,
    ResourceNotFound,
    ServerSideDecryptionUnsupported,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    WeakEncryption,
    WebhookSignatureInvalid,
)
from config_server.errortracking import ErrorTracker
from config_server.http.routes import ENDPOINT, EndpointKind

__all__ = [
    "ENCRYPTION_BODIES",
    "ENCRYPTION_ENDPOINTS",
    "ERROR_TRACKER",
    "STATUSES",
    "EncryptionBody",
    "RawRequestFilter",
    "answer_error",
    "encryption_body",
    "error_body",
    "error_middleware",
    "quiet_raw_requests",
    "status_of",
    "status_phrase",
]

log = logging.getLogger(__name__)

ERROR_TRACKER = web.AppKey("error_tracker", ErrorTracker)
"""Counts and logs the unhandled errors of the app (``config_server.errortracking``)."""
_UNTRACKED = ErrorTracker()  # for an app built without create_app (a test's bare middleware)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_Row = TypeVar("_Row")

STATUSES: Mapping[type[ConfigServerError], int] = {
    ConfigServerError: 500,
    InvalidRequest: 400,
    MethodNotAllowed: 405,
    PayloadTooLarge: 413,
    Unauthenticated: 401,
    WebhookSignatureInvalid: 401,
    Forbidden: 403,
    NotFound: 404,
    LabelNotFound: 404,
    ResourceNotFound: 404,
    EnvironmentNotFound: 404,
    InvalidConfiguration: 500,
    Unavailable: 503,
    TooManyRequests: 429,
    CryptoError: 400,
    NoKey: 404,
    NoPublicKey: 404,
    DecryptionFailed: 400,
    ServerSideDecryptionUnsupported: 400,
    KeyFormatError: 400,
    WeakEncryption: 400,
}
"""The status of each class of the tree; a subclass defined elsewhere takes its nearest base's."""


@dataclass(frozen=True, slots=True)
class EncryptionBody:
    """One row of Spring's encryption-controller errors; ``description`` None: the message."""

    status: int
    code: str
    description: str | None


_NOT_THIS_KEY = EncryptionBody(400, "INVALID", "Text not encrypted with this key")

ENCRYPTION_BODIES: Mapping[type[CryptoError], EncryptionBody] = {
    CryptoError: _NOT_THIS_KEY,
    NoKey: EncryptionBody(404, "NO_KEY", "No key was installed for encryption service"),
    NoPublicKey: EncryptionBody(404, "NOT_FOUND", "No public key available"),
    DecryptionFailed: _NOT_THIS_KEY,
    ServerSideDecryptionUnsupported: EncryptionBody(
        400, "BAD_REQUEST", "Server-side decryption is not supported"
    ),
    KeyFormatError: EncryptionBody(400, "BAD_REQUEST", None),
    WeakEncryption: EncryptionBody(404, "INVALID", "The encryption algorithm is not strong enough"),
}
"""How an encryption endpoint answers each CryptoError (reference §1.4)."""


ENCRYPTION_ENDPOINTS = frozenset(
    {EndpointKind.ENCRYPT, EndpointKind.DECRYPT, EndpointKind.ENCRYPT_STATUS, EndpointKind.KEY}
)
"""The endpoints whose CryptoErrors take Spring's encryption-controller body."""


def _nearest(table: Mapping[Any, _Row], exc: ConfigServerError) -> _Row:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    raise LookupError(type(exc).__name__)  # unreachable: both tables hold their root


def status_of(exc: ConfigServerError) -> int:
    """The HTTP status of ``exc`` in the generic (Spring Boot) error body."""
    return _nearest(STATUSES, exc)


def encryption_body(exc: CryptoError) -> tuple[int, dict[str, str]]:
    """The status and ``{"status", "description"}`` body an encryption endpoint answers ``exc`` with."""
    row = _nearest(ENCRYPTION_BODIES, exc)
    return row.status, {"status": row.code, "description": row.description or exc.message}


def status_phrase(status: int) -> str:
    """The reason phrase of ``status`` (``Error`` for a status without one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, message: str, path: str) -> bytes:
    """The UTF-8 JSON error body in Spring Boot's shape (also written by ``http.protocol``)."""
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": status_phrase(status),
        "message": message,
        "path": path,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _error_response(
    status: int, message: str, path: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON error body in Spring Boot's shape."""
    return web.Response(
        status=status,
        body=error_body(status, message, path),
        content_type="application/json",
        headers=dict(headers) if headers else None,
    )


def answer_error(exc: ConfigServerError, request: web.Request) -> web.Response:
    """The generic error answer to ``exc`` for ``request`` (for a layer outside the error middleware)."""
    return _error_response(status_of(exc), exc.message, request.rel_url.raw_path, headers=exc.headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every exception a handler raises with its mapped status and body (see the module)."""
    path = request.rel_url.raw_path
    try:
        return await handler(request)
    except ConfigServerError as exc:
        endpoint = request.get(ENDPOINT)
        if isinstance(exc, CryptoError) and endpoint is not None and endpoint.kind in ENCRYPTION_ENDPOINTS:
            status, body = encryption_body(exc)
            return web.Response(
                status=status, body=json.dumps(body).encode(), content_type="application/json"
            )
        status = status_of(exc)
        if status >= 500:
            log.warning("%s %s -> %d: %s", request.method, path, status, exc.message)
        return _error_response(status, exc.message, path, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_response(
            exc.status,
            exc.reason,
            path,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")},
        )
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception as exc:  # a bug: an id to quote, never the trace (logged once a minute)
        endpoint = request.get(ENDPOINT)
        incident = request.app.get(ERROR_TRACKER, _UNTRACKED).report(
            exc,
            {
                "http.request.method": request.method,
                "http.route": endpoint.route if endpoint is not None else None,
            },
        )
        return _error_response(
            500,
            f"Internal error (error id {incident.error_id})",
            path,
            headers={"X-Error-Id": incident.error_id},
        )


class RawRequestFilter(logging.Filter):
    """Keep the bytes of an unparseable request out of the log.

    aiohttp logs a request its parser rejects (a control character in a header, a line over
    8 KiB) with a traceback whose message quotes the offending bytes, and a header line may
    carry an ``X-Config-Token`` or a password. Keep the kind of error; drop the bytes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = "unparseable HTTP request: %s (HTTP %s)", (type(exc).__name__, exc.code)
            record.exc_info = record.exc_text = None
        return True


def quiet_raw_requests() -> None:
    """Install :class:`RawRequestFilter` on aiohttp's server logger (once)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, RawRequestFilter) for f in logger.filters):
        logger.addFilter(RawRequestFilter())
