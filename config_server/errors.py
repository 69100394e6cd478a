"""The config server's exception tree, split by what the caller can do about it.

::

    ConfigServerError
    ├── InvalidRequest          400  a name, profile, label or path that is malformed or hostile
    ├── Unauthorized            401  a webhook whose signature or token is missing or wrong
    ├── Forbidden               403  a credential (e.g. the caller's Vault token) was refused
    ├── NotFound                404
    │   ├── LabelNotFound            no branch, tag or commit by that name
    │   └── ResourceNotFound         no such plain-text file
    ├── InvalidConfiguration    500  a configuration file that cannot be parsed (names file and line)
    ├── Unavailable             503  a backend (git, Vault) cannot be reached now; retry later
    └── CryptoError                  {cipher} problems; the encryption endpoints map them
        ├── NoKey               404  no key installed
        ├── DecryptionFailed    400  text not encrypted with this key
        └── KeyFormatError      400  key material in the wrong format

Messages never contain secret values or tokens: callers build them from names only.
Errors from GitPython, hvac and cryptography are translated where those libraries are
called, once, with ``raise ... from exc``.
"""

from __future__ import annotations


class ConfigServerError(Exception):
    """Base of every error the server raises on purpose."""

    status: int = 500
    reason: str = "Internal Server Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ConfigServerError):
    """The request names something malformed or hostile (400)."""

    status = 400
    reason = "Bad Request"


class Unauthorized(ConfigServerError):
    """The request did not prove it knows the shared secret, e.g. an unsigned webhook (401)."""

    status = 401
    reason = "Unauthorized"


class Forbidden(ConfigServerError):
    """A credential was refused by a backend (403)."""

    status = 403
    reason = "Forbidden"


class NotFound(ConfigServerError):
    """The thing asked for does not exist (404)."""

    status = 404
    reason = "Not Found"


class LabelNotFound(NotFound):
    """No branch, tag or commit matches the label."""

    def __init__(self, label: str) -> None:
        super().__init__(f"No such label: {label}")
        self.label = label


class ResourceNotFound(NotFound):
    """No plain-text resource matches the path."""


class InvalidConfiguration(ConfigServerError):
    """A configuration file cannot be parsed; names the file and, when known, the line (500)."""

    status = 500
    reason = "Internal Server Error"

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
    """A backend cannot be reached right now; the caller may retry (503)."""

    status = 503
    reason = "Service Unavailable"


class CryptoError(ConfigServerError):
    """Base of {cipher} errors."""

    status = 400
    reason = "Bad Request"


class NoKey(CryptoError):
    """No key is installed for the requested operation."""

    status = 404
    reason = "Not Found"


class DecryptionFailed(CryptoError):
    """The text was not encrypted with this key (or is not ciphertext at all)."""


class KeyFormatError(CryptoError):
    """Key material is not in a usable format."""
