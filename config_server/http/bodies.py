"""Request bodies: the largest each endpoint takes, and reading one whole within it.

``BODY_LIMITS`` is the one table: the security middleware refuses a declared ``Content-Length``
over it (413) before anyone reads, and ``read_body`` holds a body sent without one (chunked) to
the same limit while reading. Every endpoint not in the table takes no body.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from config_server.errors import PayloadTooLarge
from config_server.http.routes import ENDPOINT, EndpointKind
from config_server.live.webhooks import MAX_BODY_BYTES

__all__ = ["BODY_LIMITS", "body_limit", "read_body"]

_MIB = 1024 * 1024

BODY_LIMITS: Mapping[EndpointKind, int] = {
    EndpointKind.ENCRYPT: _MIB,
    EndpointKind.DECRYPT: _MIB,
    EndpointKind.MONITOR: MAX_BODY_BYTES,  # what the webhook parser takes
}
"""The largest body each endpoint takes, in bytes; every other endpoint takes none."""


def body_limit(kind: EndpointKind) -> int:
    """The largest body an endpoint of ``kind`` takes (0: none)."""
    return BODY_LIMITS.get(kind, 0)


async def read_body(request: web.Request) -> bytes:
    """The whole body of ``request``; raises ``PayloadTooLarge`` past its endpoint's limit.

    ``StreamReader.read(n)`` answers what has arrived so far, which for a body sent in several
    packets (or chunks) is only its start: read until the end of the stream.
    """
    limit = body_limit(request[ENDPOINT].kind)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
    return b"".join(chunks)
