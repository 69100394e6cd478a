"""Reading a request body whole, up to a limit (the encryption endpoints and ``/monitor``)."""

from __future__ import annotations

from aiohttp import web

from config_server.errors import PayloadTooLarge

__all__ = ["read_body"]


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body of ``request``; raises ``PayloadTooLarge`` once it is over ``limit`` bytes.

    ``StreamReader.read(n)`` answers what has arrived so far, which for a body sent in several
    packets (or chunks) is only its start: read until the end of the stream.
    """
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
    return b"".join(chunks)
