"""How the server reaches one git remote: credentials, TLS, proxy, SSH and the time bound.

``RemoteAccess`` is a value (no I/O): the settings of one repository, with the unset ones
inherited from the server's (``inherit``). Turning it into what git needs (an askpass helper,
``GIT_SSH_COMMAND``, ``http.*`` options, all passed through the environment of the git process,
never its argument list) is the transport's job (issue 9: ``transport``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from config_server.secret import Secret
from config_server.sources.git.refs import redact

__all__ = ["DEFAULT_TIMEOUT", "RemoteAccess"]

DEFAULT_TIMEOUT = 10.0
"""Seconds a clone or fetch may take before git is killed (``--git-timeout``)."""


@dataclass(frozen=True, slots=True)
class RemoteAccess:
    """Everything needed to reach one remote besides its URI. ``repr`` hides the secrets (the
    proxy URL's user-info too)."""

    username: str | None = None
    password: Secret | None = None
    """A password or a token (HTTPS)."""
    password_file: Path | None = None
    """A file holding the password or token, re-read at each fetch (a rotated token needs no
    restart). Takes precedence over ``password``."""
    ca_file: Path | None = None
    """PEM bundle of the CAs trusted for HTTPS (a company CA), instead of the system's."""
    skip_ssl_validation: bool = False
    proxy: str | None = None
    """``http://host:port`` (credentials allowed, never logged) for HTTP(S) remotes."""
    ssh_key: Path | None = None
    """OpenSSH or PEM private key for SSH remotes."""
    ssh_passphrase: Secret | None = None
    known_hosts: Path | None = None
    strict_host_key_checking: bool = True
    """An unknown or changed host key is an error (never silently accepted)."""
    use_ssh_config: bool = False
    """Read the user's ``~/.ssh/config`` (off: ssh runs with ``-F /dev/null``)."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds after which a clone or fetch is killed."""

    def __repr__(self) -> str:
        # Every field, but no URL user-info (a token in a URI or a proxy URL); Secrets hide themselves.
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
        return redact(f"{type(self).__name__}({shown})")

    def inherit(self, defaults: RemoteAccess) -> RemoteAccess:
        """This access with every field still at its class default taken from ``defaults``.

        Spring's pattern repositories inherit the credentials, timeout and transport settings
        they do not set themselves.
        """
        changes = {}
        for f in dataclasses.fields(self):
            if getattr(self, f.name) == f.default:
                changes[f.name] = getattr(defaults, f.name)
        return dataclasses.replace(self, **changes)
