"""A local JWT issuer for the tokens a real issuer will not make (expired, forged, unsigned...).

``LocalIssuer`` holds real keys (RSA 2048, EC P-256, Ed25519) and signs tokens with PyJWT;
``forge`` builds tokens PyJWT refuses to make (``alg: none``, HS256 keyed with the public key).
``JwksServer`` publishes a JWKS on 127.0.0.1 with aiohttp and counts how often it is fetched;
its ``document``, ``cache_control`` and ``status`` can be changed while it runs, and
``hang`` makes it accept requests and never answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test"
AUDIENCE = "config-server"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    """One private key, its ``kid`` and the algorithm it signs with."""

    kid: str
    alg: str
    private: PrivateKey

    @classmethod
    def rsa(cls, kid: str, *, bits: int = 2048, alg: str = "RS256") -> SigningKey:
        return cls(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def ed25519(cls, kid: str) -> SigningKey:
        return cls(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())

    def public_jwk(self, *, with_alg: bool = True) -> dict[str, Any]:
        """The public JWK (with ``kid``, ``use: sig`` and, unless told not to, ``alg``)."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig"})
        if with_alg:
            jwk["alg"] = self.alg
        return jwk

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


class LocalIssuer:
    """Keys ``rsa-1``, ``ec-1``, ``ed-1`` and tokens for ``orders`` (role ``reader``) by default."""

    def __init__(self) -> None:
        self.keys = {
            k.kid: k for k in (SigningKey.rsa("rsa-1"), SigningKey.ec("ec-1"), SigningKey.ed25519("ed-1"))
        }

    def jwks(self, *kids: str) -> dict[str, Any]:
        """The JWKS of ``kids`` (all keys when none are named)."""
        return {"keys": [self.keys[k].public_jwk() for k in (kids or tuple(self.keys))]}

    @staticmethod
    def claims(**overrides: Any) -> dict[str, Any]:
        """Valid claims for five minutes; an override of None drops that claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "orders",
            "roles": ["reader"],
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: str | SigningKey = "rsa-1", *, kid: str | None = "", **overrides: Any) -> str:
        """A token signed by ``key``, with ``claims(**overrides)``; ``kid`` None leaves it out."""
        signer = self.keys[key] if isinstance(key, str) else key
        headers = {} if kid is None else {"kid": kid or signer.kid}
        return jwt.encode(self.claims(**overrides), signer.private, algorithm=signer.alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], *, hmac_key: bytes | None = None) -> str:
    """A token PyJWT would not sign: unsigned when ``hmac_key`` is None, else HS256 with it."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    mac = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


class JwksServer:
    """A JWKS at ``url`` on 127.0.0.1; ``fetches`` counts the requests it got."""

    def __init__(self, document: dict[str, Any], *, cache_control: str | None = None) -> None:
        self.document: dict[str, Any] | bytes = document
        self.cache_control = cache_control
        self.status = 200
        self.hang = False
        self.fetches = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    async def start(self) -> JwksServer:
        app = web.Application()
        app.router.add_get("/jwks", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening: fetches then fail with connection refused."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.fetches += 1
        if self.hang:
            await asyncio.sleep(3600)
        headers = {} if self.cache_control is None else {"Cache-Control": self.cache_control}
        body = self.document if isinstance(self.document, bytes) else json.dumps(self.document).encode()
        return web.Response(body=body, status=self.status, headers=headers, content_type="application/json")
