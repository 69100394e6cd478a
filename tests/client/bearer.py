"""A protected resource's token check for the test config server: RS256 JWTs from a real issuer.

``JwtGuard`` is an ``authorize`` hook for :class:`~tests.client.spring_server.SpringServer`. It
fetches the issuer's JWKS once, at construction (so no network call runs on the server's event
loop), then verifies ``Authorization: Bearer`` with PyJWT: signature, ``iss``, ``aud`` and
``exp`` with no leeway, as a resource server must. ``revoke(token)`` and ``refuse_all`` simulate
a server that stops accepting tokens which are still valid.
"""

from __future__ import annotations

import threading
from typing import Any

import jwt
from aiohttp import web


class JwtGuard:
    """Accepts requests carrying a valid, unrevoked access token; records what it saw."""

    def __init__(self, *, jwks_url: str, issuer: str, audience: str) -> None:
        self._keys = {key.key_id: key for key in jwt.PyJWKClient(jwks_url).get_signing_keys()}
        self.issuer = issuer
        self.audience = audience
        self.refuse_all = False
        self.accepted: list[str] = []  # the tokens of the requests served, in order
        self.refused: list[str | None] = []  # the tokens refused (None: no bearer token at all)
        self._revoked: set[str] = set()
        self._guard = threading.Lock()

    def revoke(self, token: str) -> None:
        """Refuse ``token`` from now on, although it has not expired."""
        with self._guard:
            self._revoked.add(token)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token`` (raises ``jwt.InvalidTokenError``)."""
        kid = jwt.get_unverified_header(token).get("kid")
        return jwt.decode(
            token,
            key=self._keys[kid].key,
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )

    def __call__(self, request: web.Request) -> int | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            self.refused.append(None)
            return 401
        try:
            self.claims(token)
        except (jwt.InvalidTokenError, KeyError):
            self.refused.append(token)
            return 401
        with self._guard:
            if self.refuse_all or token in self._revoked:
                self.refused.append(token)
                return 401
        self.accepted.append(token)
        return None
