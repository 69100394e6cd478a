"""The middleware that owns every error status: exceptions become Spring-style JSON bodies.

``{"timestamp": ..., "status": 404, "error": "Not Found", "message": "...", "path": "/x/y"}``.
Known errors (``ConfigServerError``) keep their message, which never holds a secret; anything else
is logged with its traceback on the server and answered as a generic 500 without details.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from config_server.errors import ConfigServerError

__all__ = ["RawRequestFilter", "error_middleware", "error_response", "quiet_raw_requests"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(
    status: int, message: str, path: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON error body in Spring Boot's shape."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": reason,
        "message": message,
        "path": path,
    }
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.rel_url.raw_path
    try:
        return await handler(request)
    except ConfigServerError as exc:
        if exc.status >= 500:
            log.warning("%s %s -> %d: %s", request.method, path, exc.status, exc.message)
        return error_response(exc.status, exc.message, path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(
            exc.status,
            exc.reason,
            path,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")},
        )
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, path)
        return error_response(500, "Internal error", path)


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
