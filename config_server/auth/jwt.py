"""Bearer JWTs (OAuth 2.0 resource server): a verified token becomes ``Principal.jwt``.

A token is accepted when all of these hold, else ``Unauthenticated`` with a fixed ``reason``:

- its header ``alg`` is one of ``--jwt-algorithms`` ("algorithm not allowed"); ``none`` and HMAC
  (HS*) can never be configured, so a token signed with the public key as an HMAC secret (the
  classic confusion attack) and an unsigned token are both refused;
- a key of the key set has its ``kid`` ("unknown kid", after one refresh) and fits ``alg``
  ("algorithm does not match the key": an RSA key never checks ES256, a key's own ``alg`` wins);
- the signature verifies ("bad signature"); RSA keys are 2048 bits or more ("key too short");
- ``exp`` is present and not past, ``nbf``/``iat`` not in the future, each with 30 s leeway
  ("missing exp claim", "expired", "not yet valid");
- ``iss`` is ``--jwt-issuer`` and ``aud`` names one of ``--jwt-audience``, when set ("wrong
  issuer", "wrong audience");
- the principal claim is a string of 1 to 256 characters without control characters
  ("no principal claim").

Claims are named by dotted paths: ``realm_access.roles`` is ``claims["realm_access"]["roles"]``,
and a key that itself holds dots is found too (``kubernetes.io.serviceaccount.name``). The roles
claim gives roles this way: a list gives its strings (other items are skipped), a string is
split on whitespace (so ``scope`` works), anything else or nothing gives no roles.

The ``reason`` strings are fixed text: never the token, nor a claim or header value from it.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms
from yarl import URL

from config_server.auth.jwks import JwksCache, KeySource, StaticKeys, load_key_file
from config_server.auth.principal import Principal
from config_server.errors import InvalidConfiguration, Unauthenticated
from config_server.settings import Settings

__all__ = [
    "BEARER_CHALLENGE",
    "INVALID_TOKEN_CHALLENGE",
    "LEEWAY_SECONDS",
    "JwtAuthenticator",
    "check_algorithms",
    "claim_at",
    "roles_from",
]

log = logging.getLogger(__name__)

BEARER_CHALLENGE = 'Bearer realm="config-server"'
"""``WWW-Authenticate`` when no credentials came at all (RFC 6750 §3: no error code then)."""
INVALID_TOKEN_CHALLENGE = 'Bearer realm="config-server", error="invalid_token"'
"""``WWW-Authenticate`` for a bearer token that was refused, whatever the reason."""
LEEWAY_SECONDS = 30.0
"""Clock skew allowed on ``exp``, ``nbf`` and ``iat``."""

_MESSAGE = "Invalid bearer token"
_MAX_NAME = 256
_MISSING = object()


def check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    """The ``--jwt-algorithms`` list, checked; raises ``InvalidConfiguration`` naming the option.

    ``none`` and every HMAC algorithm are refused: a resource server holds no shared secret,
    and allowing them lets a token be "signed" with the public key.
    """
    known = get_default_algorithms()
    if not algorithms:
        raise InvalidConfiguration("--jwt-algorithms", "name at least one algorithm")
    for alg in algorithms:
        if alg.lower() == "none":
            raise InvalidConfiguration("--jwt-algorithms", f"'{alg}' is refused: it accepts unsigned tokens")
        if alg.upper().startswith("HS"):
            raise InvalidConfiguration(
                "--jwt-algorithms",
                f"'{alg}' is refused: HMAC needs a shared secret, and would accept tokens "
                "signed with the public key",
            )
        if alg not in known:
            offered = ", ".join(a for a in sorted(known) if a != "none" and not a.startswith("HS"))
            raise InvalidConfiguration("--jwt-algorithms", f"unknown algorithm '{alg}' (one of {offered})")
    return tuple(dict.fromkeys(algorithms))


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in ``claims``, or None.

    At each level the longest run of segments that is a key wins, so keys holding dots are
    found: ``kubernetes.io.serviceaccount.name`` reads ``claims["kubernetes.io"]["serviceaccount"]
    ["name"]``.
    """
    found = _walk(claims, path.split("."))
    return None if found is _MISSING else found


def _walk(value: Any, segments: list[str]) -> Any:
    if not segments:
        return value
    if not isinstance(value, Mapping):
        return _MISSING
    for end in range(len(segments), 0, -1):
        key = ".".join(segments[:end])
        if key in value:
            found = _walk(value[key], segments[end:])
            if found is not _MISSING:
                return found
    return _MISSING


def roles_from(value: Any) -> frozenset[str]:
    """Roles from a roles claim's value: a list's strings, a string's words, else none."""
    if isinstance(value, str):
        items: list[Any] = value.split()
    elif isinstance(value, list):
        items = value
    else:
        return frozenset()
    return frozenset(item for item in items if _plain_name(item))


def _plain_name(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_NAME
        and not any(unicodedata.category(c) == "Cc" for c in value)
    )


class JwtAuthenticator:
    """Verifies bearer JWTs against a key source and turns them into principals.

    ``keys`` is a ``JwksCache`` (a JWKS URL) or ``StaticKeys`` (a key file). ``issuer`` and
    ``audience`` are checked when given (an empty ``audience`` accepts any ``aud``).
    ``algorithms`` is checked with ``check_algorithms`` (raises ``InvalidConfiguration``).
    Use one instance from one event loop, between ``start()`` and ``close()``.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        algorithms: Sequence[str] = ("RS256", "ES256", "EdDSA"),
        issuer: str | None = None,
        audience: Sequence[str] = (),
        principal_claim: str = "sub",
        roles_claim: str = "roles",
        leeway: float = LEEWAY_SECONDS,
    ) -> None:
        self.keys = keys
        self.algorithms = check_algorithms(algorithms)
        self.issuer = issuer
        self.audience = tuple(audience)
        self.principal_claim = principal_claim
        self.roles_claim = roles_claim
        self.leeway = leeway

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtAuthenticator | None:
        """The authenticator ``settings`` ask for, None when JWTs are not configured.

        Raises ``InvalidConfiguration`` naming the option or file: both ``--jwt-jwks-url`` and
        ``--jwt-public-key``, a refused or unknown algorithm, a URL that is not http(s), a key
        file that cannot be read or holds no usable public key. Reads the key file (blocking):
        call it at start-up.
        """
        url, path = settings.jwt_jwks_url, settings.jwt_public_key
        if not url and path is None:
            return None
        if url and path is not None:
            raise InvalidConfiguration("--jwt-jwks-url", "give it or --jwt-public-key, not both")
        algorithms = check_algorithms(settings.jwt_algorithms)
        keys: KeySource
        if path is not None:
            try:
                keys = StaticKeys(load_key_file(path))
            except OSError as exc:
                raise InvalidConfiguration(str(path), f"--jwt-public-key: {exc.strerror}") from None
            except ValueError as exc:
                raise InvalidConfiguration(str(path), f"--jwt-public-key: {exc}") from None
        else:
            assert url is not None
            keys = JwksCache(_checked_url(url))
        if not settings.jwt_audience:
            log.warning("--jwt-audience is not set: bearer JWTs issued for any audience are accepted")
        return cls(
            keys,
            algorithms=algorithms,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            principal_claim=settings.jwt_principal_claim,
            roles_claim=settings.jwt_roles_claim,
        )

    async def start(self) -> None:
        """Fetch the keys (a JWKS that cannot be fetched now is logged and tried on first use)."""
        await self.keys.start()

    async def close(self) -> None:
        """Release the key source's HTTP session."""
        await self.keys.close()

    async def authenticate(self, token: str) -> Principal:
        """The principal a valid bearer ``token`` names.

        Raises ``Unauthenticated`` (challenge ``INVALID_TOKEN_CHALLENGE``, a generic message, a
        fixed ``reason``) for any token that is not valid, and ``Unavailable`` when the JWKS was
        never fetched and cannot be fetched now.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _refused("algorithm not allowed")
        if kid is not None and not isinstance(kid, str):
            raise _refused("malformed token")
        keys = await self.keys.key_set(kid)
        if kid is not None and not keys.has_kid(kid):
            raise _refused("unknown kid")
        verifiers = keys.verifiers(kid, alg)
        if not verifiers:
            raise _refused("algorithm does not match the key")
        claims = self._verify(token, verifiers)
        subject = claim_at(claims, self.principal_claim)
        if not _plain_name(subject):
            raise _refused("no principal claim")
        return Principal.jwt(subject, roles_from(claim_at(claims, self.roles_claim)))

    def _verify(self, token: str, verifiers: Sequence[jwt.PyJWK]) -> dict[str, Any]:
        for i, key in enumerate(verifiers):
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=list(self.algorithms),
                    issuer=self.issuer,
                    audience=list(self.audience) or None,
                    leeway=self.leeway,
                    options={
                        "require": ["exp"],
                        "verify_aud": bool(self.audience),
                        "enforce_minimum_key_length": True,
                    },
                )
            except jwt.InvalidSignatureError:
                if i == len(verifiers) - 1:  # a token without kid is tried against each key
                    raise _refused("bad signature") from None
            except jwt.PyJWTError as exc:
                raise _refused(_reason(exc)) from None
        raise _refused("bad signature")  # not reached: verifiers is never empty


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not yet valid"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidKeyError, "key too short"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.DecodeError, "malformed token"),
)
"""The fixed reason logged for each PyJWT error (never the token's or the claims' text)."""


def _reason(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing {exc.claim} claim" if exc.claim in ("exp", "iss", "aud") else "missing claim"
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "invalid claims")


def _refused(reason: str) -> Unauthenticated:
    return Unauthenticated(_MESSAGE, challenge=INVALID_TOKEN_CHALLENGE, reason=reason)


def _checked_url(url: str) -> str:
    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidConfiguration("--jwt-jwks-url", "must be an http(s) URL")
    if parsed.scheme == "http" and parsed.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("--jwt-jwks-url is plain http: whoever can alter that traffic can forge tokens")
    return url
