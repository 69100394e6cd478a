"""The client's exception tree, split by what the caller can do about it.

::

    ConfigClientError
    ├── ConfigUnavailable        the server could not be reached, timed out or answered 5xx/429;
    │                            retry later (raised after the retries, ``attempts`` says how many)
    ├── InvalidResponse          the server answered 200 with a body that is not an Environment
    ├── RequestRejected          the server refused the request (4xx); retrying will not help
    │   ├── AuthenticationFailed     401/403: wrong or missing credentials or Vault token
    │   └── ConfigNotFound           404: no such label (or application, on strict servers)
    ├── SnapshotRejected         the ``validate`` hook refused a configuration
    ├── CacheError               the last-known-good cache cannot be read, written or decrypted
    ├── LocalFileError           the ``local_file`` cannot be read or parsed (names file and line)
    ├── TokenFileError           the ``token_file`` cannot be read or is empty (names the file)
    └── BindError                ``bind()`` could not fill a settings class (names each dotted key)

The OAuth 2.0 token endpoint's answers map onto the same tree: refused client credentials are
``AuthenticationFailed``, an unreachable or failing endpoint is ``ConfigUnavailable``.

Messages never contain property values, passwords or tokens: they are built from names, URLs
(without userinfo), statuses and types only, because configuration routinely holds secrets.
Errors from aiohttp, PyYAML and cryptography are translated where those libraries are called,
once, with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AuthenticationFailed",
    "BindError",
    "CacheError",
    "ConfigClientError",
    "ConfigNotFound",
    "ConfigUnavailable",
    "InvalidResponse",
    "LocalFileError",
    "RequestRejected",
    "SnapshotRejected",
    "TokenFileError",
]


class ConfigClientError(Exception):
    """Base of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigUnavailable(ConfigClientError):
    """The server cannot be reached or is failing (connection, timeout, 5xx, 429); retry later."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class InvalidResponse(ConfigClientError):
    """The server answered, but not with an Environment document (garbage, HTML, wrong shape)."""


class RequestRejected(ConfigClientError):
    """The server refused the request with a 4xx status; the request itself must change."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationFailed(RequestRejected):
    """401 or 403: the credentials (basic, bearer or ``X-Config-Token``) were refused.

    Also raised when the OAuth 2.0 token endpoint refuses the client (``invalid_client`` and
    the like); ``status`` is then the token endpoint's status.
    """


class ConfigNotFound(RequestRejected):
    """404: the label (or, on servers with ``accept-empty=false``, the application) does not exist."""


class SnapshotRejected(ConfigClientError):
    """The ``validate`` hook refused a configuration; the previous snapshot (if any) stays."""


class CacheError(ConfigClientError):
    """The last-known-good cache cannot be used: unreadable, corrupt, wrong key, or no key."""


class LocalFileError(ConfigClientError):
    """The local override file cannot be read or parsed; names the file and, when known, the line."""

    def __init__(self, path: str, problem: str, *, line: int | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"Invalid local configuration file {where}: {problem}")
        self.path = path
        self.problem = problem
        self.line = line


class TokenFileError(ConfigClientError):
    """The ``token_file`` cannot be read, or holds no token; names the file, never its content.

    Raised at once by ``load()`` (a fresh read will not come by retrying at once); the background
    reload logs it and tries again with backoff, so a token mounted late is picked up.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"Cannot read the bearer token from {path}: {problem}")
        self.path = path
        self.problem = problem


class BindError(ConfigClientError):
    """``bind()`` failed; ``problems`` lists every ``(dotted key, what is wrong)`` pair found."""

    def __init__(self, target: str, problems: Sequence[tuple[str, str]]) -> None:
        lines = "\n".join(f"  {key}: {problem}" for key, problem in problems)
        super().__init__(f"Cannot bind configuration to {target}:\n{lines}")
        self.target = target
        self.problems = tuple(problems)
