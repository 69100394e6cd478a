"""``/encrypt``, ``/decrypt``, ``/encrypt/status`` and ``/key``, with Spring's status codes and bodies.

A CryptoError raised here is answered by the error middleware (``http.errors``, the one status
mapping) in Spring's encryption-controller shape ``{"status": "NO_KEY", "description": ...}``
(reference §1.4) instead of the generic error body, because the request's endpoint is an
encryption one. The ``{application}/{profiles}`` scope is validated by the route table
(``routes``) before a handler runs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from aiohttp import web

from config_server.components import KEYRING
from config_server.crypto.keyring import NO_KEY_INSTALLED
from config_server.crypto.prefixes import split_prefixes
from config_server.errors import CryptoError, InvalidRequest, NoKey, NoPublicKey
from config_server.http.bodies import body_limit, read_body
from config_server.http.routes import Endpoint, EndpointKind

if TYPE_CHECKING:
    from config_server.crypto.keyring import KeyRing

__all__ = ["decrypt", "encrypt", "key", "status"]

log = logging.getLogger(__name__)

MAX_BODY = body_limit(EndpointKind.ENCRYPT)  # the endpoint's row of ``bodies.BODY_LIMITS``


async def _body(request: web.Request, *, decrypting: bool) -> str:
    if "Content-Type" not in request.headers:
        raise InvalidRequest("Required header 'Content-Type' is not present")
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("Body is not UTF-8 text") from None
    if not decrypting:
        return _strip_form_data(text, request.content_type, decrypting=False)
    # Spring strips the {name:value} prefixes before the form encoding, so the length and
    # alphabet checks see the ciphertext alone; the prefixes still select the key here.
    payload = split_prefixes(text).payload
    head = text[: len(text) - len(payload)]
    return head + _strip_form_data(payload, request.content_type, decrypting=True)


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


def _keyring(request: web.Request) -> KeyRing:
    ring = request.app[KEYRING]
    if ring is None:
        raise NoKey(NO_KEY_INSTALLED)
    return ring


async def _transform(request: web.Request, *, decrypting: bool) -> web.Response:
    ring = _keyring(request)
    text = await _body(request, decrypting=decrypting)
    operation = ring.decrypt if decrypting else ring.encrypt
    try:
        # Off the loop: transit (named in the text, or as the primary key) calls Vault over
        # blocking HTTP, and RSA or PBKDF2 work is not free either.
        out = await asyncio.to_thread(operation, text)
    except CryptoError as exc:
        log.info("%s request failed: %s", operation.__name__, type(exc).__name__)
        raise
    return web.Response(text=out, content_type="text/plain")


async def encrypt(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /encrypt[/{application}/{profiles}]``: the ciphertext of the body."""
    return await _transform(request, decrypting=False)


async def decrypt(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``POST /decrypt[/{application}/{profiles}]``: the plain text of the body."""
    return await _transform(request, decrypting=True)


async def status(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /encrypt/status``: ``{"status": "OK"}`` when a key is installed."""
    _keyring(request)
    return web.json_response({"status": "OK"})


async def key(request: web.Request, endpoint: Endpoint) -> web.Response:
    """``GET /key[/{application}/{profiles}]``: the RSA public key, OpenSSH format."""
    ring = request.app[KEYRING]
    if ring is None:
        raise NoPublicKey()
    # A symmetric key has no public half: NoPublicKey.
    return web.Response(text=ring.public_key(), content_type="text/plain")
