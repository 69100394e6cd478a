"""HTTP Basic against an htpasswd file: bcrypt (``$2y$``, ``$2b$``, ``$2a$``) or argon2id hashes.

The file is the one Apache's ``htpasswd -B`` writes (``config-server passwd`` writes argon2id
entries into the same file): ``user:hash`` per line, blank lines and ``#`` comments allowed.
Weak schemes (MD5 ``$apr1$``, ``{SHA}``, crypt, plain text) are refused when the file is read,
naming the line; at start-up that stops the server, on a reload the old users are kept.

A hash check costs tens of milliseconds of CPU (argon2id also 64 MiB), so checks run in worker
threads, and a successful one is remembered for a while under an HMAC of the credentials with a
per-process key (never the password itself), so a client polling every second is not hashed
every second. A changed file forgets what it remembered for the users whose entry changed.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import argon2
import bcrypt

from config_server.auth.principal import Principal
from config_server.caching import LRU
from config_server.errors import InvalidConfiguration, Unauthenticated
from config_server.filewatch import read_text

__all__ = ["BASIC_CHALLENGE", "UsersFile", "hash_password", "parse_users", "set_user"]

log = logging.getLogger(__name__)

BASIC_CHALLENGE = 'Basic realm="config-server", charset="UTF-8"'
"""The ``WWW-Authenticate`` challenge of Basic authentication (RFC 7617)."""

_BCRYPT_PREFIXES = ("$2y$", "$2b$", "$2a$")
_ARGON2ID_PREFIX = "$argon2id$"
_REMEMBER_S = 300.0
_REMEMBER_ENTRIES = 4096
_ARGON2 = argon2.PasswordHasher()  # argon2-cffi's defaults: RFC 9106's second recommendation


@functools.cache
def _dummy_hash() -> str:
    """Checked for an unknown user, so a wrong name costs as long as a wrong password: a real hash
    (an invalid one fails at once), argon2id like passwd's; made on first use, not at import."""
    return _ARGON2.hash("no such user")


def _weak_scheme(hashed: str) -> str | None:
    if hashed.startswith("$apr1$") or hashed.startswith("$1$"):
        return "MD5"
    if hashed.startswith("{SHA}"):
        return "SHA1"
    if hashed.startswith(("$5$", "$6$")):
        return "SHA-crypt"
    if hashed.startswith("$argon2"):
        return "argon2 other than argon2id"
    if hashed.startswith("$"):
        return "an unknown scheme"
    if len(hashed) == 13:
        return "crypt"
    return "plain text or an unknown scheme"


def parse_users(text: str, *, source: str) -> dict[str, str]:
    """``{user: hash}`` from htpasswd text; raises ``InvalidConfiguration`` naming the bad line.

    Only bcrypt and argon2id entries are accepted; a user given twice is an error.
    """
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed:
            raise InvalidConfiguration(source, "not a user:hash line", line=number)
        if not (hashed.startswith(_BCRYPT_PREFIXES) or hashed.startswith(_ARGON2ID_PREFIX)):
            raise InvalidConfiguration(
                source,
                f"user '{user}' has a {_weak_scheme(hashed)} password hash; only bcrypt "
                "(htpasswd -B) and argon2id (config-server passwd) are accepted",
                line=number,
            )
        if user in users:
            raise InvalidConfiguration(source, f"user '{user}' is given twice", line=number)
        users[user] = hashed
    return users


def _check(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (blocking: tens of milliseconds of CPU)."""
    if hashed.startswith(_ARGON2ID_PREFIX):
        try:
            return bool(_ARGON2.verify(hashed, password))
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False
    # bcrypt reads at most 72 bytes; htpasswd -B cuts longer passwords the same way.
    try:
        return bcrypt.checkpw(password.encode("utf-8")[:72], hashed.encode("ascii"))
    except ValueError:  # a malformed hash
        return False


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for an htpasswd line (blocking)."""
    return _ARGON2.hash(password)


def set_user(path: Path, user: str, password: str) -> bool:
    """Add ``user`` to the htpasswd file at ``path`` or change its password; True if it was new.

    The file is rewritten through a temporary file and a rename (mode 0600 for a new file), so a
    server watching it never reads half a file. Raises ``ValueError`` for a user name with ``:``
    or a line break, and ``InvalidConfiguration`` when the existing file cannot be parsed.
    """
    if not user or ":" in user or any(c in user for c in "\r\n") or user != user.strip():
        raise ValueError("a user name must be non-empty, without ':', line breaks or outer spaces")
    lines: list[str] = []
    mode = 0o600
    if path.exists():
        text = path.read_text(encoding="utf-8")
        parse_users(text, source=str(path))  # refuse to extend a file the server would refuse
        lines = text.splitlines()
        mode = path.stat().st_mode & 0o777
    entry = f"{user}:{hash_password(password)}"
    new = True
    for index, line in enumerate(lines):
        if line.strip().partition(":")[0] == user and not line.lstrip().startswith("#"):
            lines[index], new = entry, False
            break
    else:
        lines.append(entry)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return new


class UsersFile:
    """The Basic users of one htpasswd file; ``load()`` (re)reads it, ``authenticate`` checks.

    Not thread-safe: use it from the event loop (checks themselves run in worker threads).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: Mapping[str, str] = {}
        self._key = secrets.token_bytes(32)
        self._remembered: LRU[bytes, str] = LRU(_REMEMBER_ENTRIES, ttl=_REMEMBER_S)  # -> the hash

    @property
    def users(self) -> frozenset[str]:
        """The user names in the file as last loaded."""
        return frozenset(self._users)

    def load(self) -> None:
        """Read and validate the file; raises ``InvalidConfiguration`` (the old users stay)."""
        text = read_text(self.path, "users file")
        self._users = parse_users(text, source=str(self.path))

    def reload(self) -> None:
        """``load()`` after a change on disk; an invalid new file is logged and the old one kept."""
        try:
            self.load()
        except InvalidConfiguration as exc:
            log.error("users file not reloaded, keeping the previous users: %s", exc.message)
            return
        log.info("users file %s reloaded: %d user(s)", self.path, len(self._users))

    async def authenticate(self, user: str, password: str) -> Principal:
        """The principal ``user:NAME`` if the password matches; raises ``Unauthenticated``."""
        hashed = self._users.get(user)
        mac = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if hashed is not None and self._remembered.get(mac) == hashed:
            return Principal.user(user)
        ok = await asyncio.to_thread(_check, hashed or _dummy_hash(), password)
        if hashed is None or not ok:
            why = "unknown user" if hashed is None else "wrong password"
            raise Unauthenticated("Bad credentials", challenge=BASIC_CHALLENGE, reason=f"{why} '{user}'")
        self._remembered.put(mac, hashed)
        return Principal.user(user)
