"""``/encrypt``, ``/decrypt``, ``/encrypt/status`` and ``/key``, with Spring's status codes and bodies.

A CryptoError here is raised wrapped in ``EncryptionEndpointError``, which the error middleware
(``http.errors``, the one status mapping) answers in Spring's encryption-controller shape
``{"status": "NO_KEY", "description": ...}`` (reference §1.4) instead of the generic error body.
The routes are registered through ``add_routes(app, guard)`` so an authorisation check can be put
in front of all of them at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from aiohttp import web

from config_server.crypto.keyring import NO_KEY_INSTALLED
from config_server.errors import CryptoError, NoKey, NoPublicKey
from config_server.http.errors import EncryptionEndpointError
from config_server.names import parse_names, parse_profiles

if TYPE_CHECKING:
    from config_server.crypto.keyring import KeyRing
    from config_server.http.app import State

__all__ = ["add_routes"]

log = logging.getLogger(__name__)

Guard = Callable[[web.Request], Awaitable[None]]
MAX_BODY = 64 * 1024


def _no_key() -> EncryptionEndpointError:
    return EncryptionEndpointError(NoKey(NO_KEY_INSTALLED))


async def _body(request: web.Request, *, decrypting: bool) -> str:
    if "Content-Type" not in request.headers:
        raise web.HTTPBadRequest(reason="Required header 'Content-Type' is not present")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(reason="Body is not UTF-8 text") from None
    return _strip_form_data(text, request.content_type, decrypting=decrypting)


def _strip_form_data(data: str, content_type: str, *, decrypting: bool) -> str:
    """Spring's ``stripFormData``: ``curl -d`` sends form encoding with a trailing ``=``."""
    if not data.endswith("=") or content_type == "text/plain":
        return data
    data = unquote_plus(data)
    if decrypting:
        data = data.replace(" ", "+")
    candidate = data[:-1]
    if not decrypting:
        return candidate
    if data.endswith("=") and len(data) % 2 == 1 and (_is_hex(candidate) or _is_base64(candidate)):
        return candidate
    return data


def _is_hex(text: str) -> bool:
    return re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text) is not None


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_scope(request: web.Request) -> None:
    name, profiles = request.match_info.get("name"), request.match_info.get("profiles")
    if name is not None:
        parse_names(name)
    if profiles is not None:
        parse_profiles(profiles)


def add_routes(app: web.Application, state_key: web.AppKey[State], guard: Guard | None = None) -> None:
    """Register the encryption endpoints; ``guard`` (if any) runs first on each request."""

    async def keyring(request: web.Request) -> KeyRing | None:
        if guard is not None:
            await guard(request)
        _check_scope(request)
        ring: KeyRing | None = request.app[state_key].keyring
        return ring

    async def transform(request: web.Request, *, decrypting: bool) -> web.Response:
        ring = await keyring(request)
        if ring is None:
            raise _no_key()
        text = await _body(request, decrypting=decrypting)
        operation = ring.decrypt if decrypting else ring.encrypt
        try:
            # Off the loop: transit (named in the text, or as the primary key) calls Vault over
            # blocking HTTP, and RSA or PBKDF2 work is not free either.
            out = await asyncio.to_thread(operation, text)
        except CryptoError as exc:
            log.info("%s request failed: %s", operation.__name__, type(exc).__name__)
            raise EncryptionEndpointError(exc) from exc
        return web.Response(text=out, content_type="text/plain")

    async def encrypt(request: web.Request) -> web.Response:
        return await transform(request, decrypting=False)

    async def decrypt(request: web.Request) -> web.Response:
        return await transform(request, decrypting=True)

    async def status(request: web.Request) -> web.Response:
        if await keyring(request) is None:
            raise _no_key()
        return web.json_response({"status": "OK"})

    async def key(request: web.Request) -> web.Response:
        ring = await keyring(request)
        try:
            if ring is None:
                raise NoPublicKey()
            return web.Response(text=ring.public_key(), content_type="text/plain")
        except CryptoError as exc:  # NoPublicKey: a symmetric key has no public half
            raise EncryptionEndpointError(exc) from exc

    app.router.add_post("/encrypt", encrypt)
    app.router.add_post("/encrypt/{name}/{profiles}", encrypt)
    app.router.add_post("/decrypt", decrypt)
    app.router.add_post("/decrypt/{name}/{profiles}", decrypt)
    app.router.add_get("/encrypt/status", status)
    app.router.add_get("/key", key)
    app.router.add_get("/key/{name}/{profiles}", key)
