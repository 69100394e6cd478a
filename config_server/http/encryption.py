"""``/encrypt``, ``/decrypt``, ``/encrypt/status`` and ``/key``, with Spring's status codes and bodies.

Errors here use Spring's encryption-controller shape ``{"status": "NO_KEY", "description": ...}``
(reference §1.4), not the generic error body. The ``{application}/{profiles}`` scope is validated
by the route table (``routes``) before a handler runs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from aiohttp import web

from config_server.errors import CryptoError, DecryptionFailed, KeyFormatError, NoKey
from config_server.http.routes import Endpoint

if TYPE_CHECKING:
    from config_server.crypto.keyring import KeyRing

__all__ = ["decrypt", "encrypt", "key", "status"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


def _spring_error(status: int, code: str, description: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"status": code, "description": description}).encode(),
        content_type="application/json",
    )


def _crypto_error(exc: CryptoError) -> web.Response:
    if isinstance(exc, NoKey):
        if "public key" in exc.message.lower():
            return _spring_error(404, "NOT_FOUND", "No public key available")
        return _spring_error(404, "NO_KEY", "No key was installed for encryption service")
    if isinstance(exc, KeyFormatError):
        return _spring_error(400, "BAD_REQUEST", exc.message)
    if isinstance(exc, DecryptionFailed) and "not supported" in exc.message.lower():
        return _spring_error(400, "BAD_REQUEST", "Server-side decryption is not supported")
    return _spring_error(400, "INVALID", "Text not encrypted with this key")


def _no_key() -> web.Response:
    return _crypto_error(NoKey("No key was installed for encryption service"))


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


def _keyring(request: web.Request) -> KeyRing | None:
    from config_server.http.app import STATE

    ring: KeyRing | None = request.app[STATE].keyring
    return ring


async def _transform(request: web.Request, *, decrypting: bool) -> web.Response:
    ring = _keyring(request)
    if ring is None:
        return _no_key()
    text = await _body(request, decrypting=decrypting)
    operation = ring.decrypt if decrypting else ring.encrypt
    try:
        # Off the loop: transit (named in the text, or as the primary key) calls Vault over
        # blocking HTTP, and RSA or PBKDF2 work is not free either.
        out = await asyncio.to_thread(operation, text)
    except CryptoError as exc:
        log.info("%s request failed: %s", operation.__name__, type(exc).__name__)
        return _crypto_error(exc)
    if not decrypting and out == text:
        return _spring_error(404, "INVALID", "The encryption algorithm is not strong enough")
    return web.Response(text=out, content_type="text/plain")


async def encrypt(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /encrypt[/{application}/{profiles}]``: the ciphertext of the body."""
    return await _transform(request, decrypting=False)


async def decrypt(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /decrypt[/{application}/{profiles}]``: the plain text of the body."""
    return await _transform(request, decrypting=True)


async def status(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /encrypt/status``: ``{"status": "OK"}`` when a key is installed."""
    if _keyring(request) is None:
        return _no_key()
    return web.json_response({"status": "OK"})


async def key(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /key[/{application}/{profiles}]``: the RSA public key, OpenSSH format."""
    ring = _keyring(request)
    if ring is not None:
        with contextlib.suppress(CryptoError):  # a symmetric key has no public half
            return web.Response(text=ring.public_key(), content_type="text/plain")
    return _spring_error(404, "NOT_FOUND", "No public key available")
