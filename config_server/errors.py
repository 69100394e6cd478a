"""The config server's exception tree, split by what the caller can do about it.

::

    ConfigServerError                  .message (never a secret), .headers (for the response)
    ├── InvalidRequest                 fix the request: a malformed or hostile name, profile, label, path
    │   ├── MethodNotAllowed               use another method (.headers has Allow)
    │   └── PayloadTooLarge                send a smaller body
    ├── Unauthenticated                present credentials: none or bad ones (.headers has the challenge)
    ├── WebhookSignatureInvalid        fix the forge's webhook secret: signature or token missing or wrong
    ├── Forbidden                      use other credentials: a token or a policy refused this request
    ├── NotFound                       ask for something that exists
    │   ├── LabelNotFound                  no branch, tag or commit by that name
    │   ├── ResourceNotFound               no such plain-text file
    │   └── EnvironmentNotFound            no source at all for the application (accept-empty off)
    ├── InvalidConfiguration           fix the file named (and its line): it cannot be parsed
    ├── Unavailable                    retry later: a backend (git, Vault) cannot be reached now
    ├── TooManyRequests                slow down: retry after the seconds in .headers' Retry-After
    └── CryptoError                    {cipher} problems
        ├── NoKey                          install a key: none for this operation
        │   └── NoPublicKey                    the key is not RSA, so it has no public half
        ├── DecryptionFailed               the text was not encrypted with this key
        │   └── ServerSideDecryptionUnsupported  the key is a certificate (public) only
        ├── KeyFormatError                 fix the key material: wrong format or unusable
        └── WeakEncryption                 use a real key: the encryptor returned its input

No class carries an HTTP status: ``config_server.http.errors`` is the one table from these
classes to statuses and bodies. Messages never contain secret values or tokens: callers build
them from names only. Errors from GitPython, hvac and cryptography are translated where those
libraries are called, once, with ``raise ... from exc``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = [
    "ConfigServerError",
    "CryptoError",
    "DecryptionFailed",
    "EnvironmentNotFound",
    "Forbidden",
    "InvalidConfiguration",
    "InvalidRequest",
    "KeyFormatError",
    "LabelNotFound",
    "MethodNotAllowed",
    "NoKey",
    "NoPublicKey",
    "NotFound",
    "PayloadTooLarge",
    "ResourceNotFound",
    "ServerSideDecryptionUnsupported",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
    "WeakEncryption",
    "WebhookSignatureInvalid",
]

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class ConfigServerError(Exception):
    """Base of every error the server raises on purpose.

    ``message`` is safe to show the caller. ``headers`` are put on the error response (a
    challenge, a retry hint); they are set by the server, never copied from the request.
    """

    headers: Mapping[str, str] = _NO_HEADERS

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ConfigServerError):
    """The request names something malformed or hostile."""


class MethodNotAllowed(InvalidRequest):
    """The path exists, but not for this method; ``headers`` carry ``Allow``."""

    def __init__(self, method: str, allowed: Iterable[str]) -> None:
        super().__init__("Method Not Allowed")
        self.method = method
        self.allowed = tuple(sorted(set(allowed)))
        self.headers = MappingProxyType({"Allow": ",".join(self.allowed)})


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than the endpoint takes (``limit`` bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__("Request Entity Too Large")
        self.limit = limit


class Unauthenticated(ConfigServerError):
    """The caller presented no credentials, or ones that prove nothing.

    ``challenge`` becomes the response's ``WWW-Authenticate`` header, e.g.
    ``Basic realm="config-server"`` or ``Bearer``.
    """

    def __init__(
        self, message: str, *, challenge: str = 'Basic realm="config-server"', reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.headers = MappingProxyType({"WWW-Authenticate": challenge})
        self.reason = reason or message
        """Why, for the log and the audit line only (the body says nothing an attacker can use)."""


class WebhookSignatureInvalid(ConfigServerError):
    """A webhook did not prove it knows the shared secret (signature or token missing or wrong)."""


class Forbidden(ConfigServerError):
    """A credential was refused: a backend refused a token, or a policy denies the caller."""


class NotFound(ConfigServerError):
    """The thing asked for does not exist."""


class LabelNotFound(NotFound):
    """No branch, tag or commit matches the label."""

    def __init__(self, label: str) -> None:
        super().__init__(f"No such label: {label}")
        self.label = label


class ResourceNotFound(NotFound):
    """No plain-text resource matches the path."""


class EnvironmentNotFound(NotFound):
    """No property source at all for the request, and empty environments are not accepted
    (Spring's ``EnvironmentNotFoundException``, reason "Application Not Found")."""

    def __init__(self) -> None:
        super().__init__("Application Not Found")


class InvalidConfiguration(ConfigServerError):
    """A configuration file cannot be parsed; names the file and, when known, the line."""

    def __init__(
        self, path: str, problem: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        where = path if line is None else f"{path}:{line}" + ("" if column is None else f":{column}")
        super().__init__(f"Invalid configuration in {where}: {problem}")
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column


class Unavailable(ConfigServerError):
    """A backend cannot be reached right now; the caller may retry."""


class TooManyRequests(ConfigServerError):
    """The caller asked too often; ``headers`` carry ``Retry-After`` (whole seconds, at least 1)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))
        self.headers = MappingProxyType({"Retry-After": str(self.retry_after)})


class CryptoError(ConfigServerError):
    """Base of {cipher} errors."""


class NoKey(CryptoError):
    """No key is installed for the requested operation."""


class NoPublicKey(NoKey):
    """The key asked for has no public half to publish (it is symmetric, unknown, or absent)."""

    def __init__(self, message: str = "No public key available") -> None:
        super().__init__(message)


class DecryptionFailed(CryptoError):
    """The text was not encrypted with this key (or is not ciphertext at all)."""


class ServerSideDecryptionUnsupported(DecryptionFailed):
    """The key is a certificate (public key) only: values encrypt but cannot be decrypted here."""

    def __init__(self, message: str = "Server-side decryption is not supported") -> None:
        super().__init__(message)


class KeyFormatError(CryptoError):
    """Key material is not in a usable format."""


class WeakEncryption(CryptoError):
    """The encryptor gave back its input unchanged: it does not encrypt at all."""

    def __init__(self, message: str = "The encryption algorithm is not strong enough") -> None:
        super().__init__(message)
