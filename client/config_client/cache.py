"""The last-known-good cache: the last Environment the server sent and ``validate`` accepted.

**The cache holds secrets** (whatever the server returns, decrypted ``{cipher}`` values and Vault
secrets included). Files are created with mode 0600 in a directory created with mode 0700, and
written atomically (temporary file in the same directory, fsync, ``os.replace``, fsync of the
directory) so a crash never leaves half a file. For encryption at rest, set ``cache_key_env`` to the
name of an environment variable holding a Fernet key (``Fernet.generate_key()``); that needs the
optional ``cryptography`` package (``pip install 'longpoll-config-client[encrypted-cache]'``), imported only
when a key is configured. Blocking file I/O: call from a worker thread in async code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from config_client.errors import CacheError
from config_client.wire import Environment

__all__ = ["LastGoodCache", "load_fernet"]

log = logging.getLogger(__name__)

_FORMAT = "config-client-cache/1"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class _Cipher(Protocol):
    def encrypt(self, data: bytes) -> bytes: ...
    def decrypt(self, token: bytes) -> bytes: ...


def load_fernet(env_var: str, environ: Mapping[str, str]) -> _Cipher:
    """The Fernet cipher for the key in ``environ[env_var]``; raises ``CacheError`` (never shows the key)."""
    key = environ.get(env_var)
    if not key:
        raise CacheError(f"cache encryption key variable {env_var} is not set")
    try:
        from cryptography.fernet import Fernet
    except ImportError as exc:
        hint = "pip install 'longpoll-config-client[encrypted-cache]'"
        raise CacheError(f"an encrypted cache needs the 'cryptography' package: {hint}") from exc
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CacheError(f"{env_var} does not hold a Fernet key (32 url-safe base64-encoded bytes)") from exc


class LastGoodCache:
    """One file per (server, application, profiles, label) under ``directory``."""

    def __init__(self, directory: Path, *, identity: str, name: str, cipher: _Cipher | None = None) -> None:
        self.directory = directory
        self._cipher = cipher
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        slug = _SLUG.sub("_", name)[:64]
        self.path = directory / f"{slug}-{digest}.json{'.enc' if cipher else ''}"

    def save(self, environment: Environment, *, etag: str | None) -> None:
        """Replace the cached Environment atomically; raises ``CacheError``."""
        doc = {"format": _FORMAT, "etag": etag, "environment": environment.to_json()}
        data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        if self._cipher is not None:
            data = self._cipher.encrypt(data)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        except OSError as exc:
            raise CacheError(f"cannot write the cache in {self.directory}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o600)  # mkstemp already does; be explicit about secrets
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CacheError(f"cannot write the cache file {self.path}: {exc.strerror}") from exc
        _fsync_dir(self.directory)

    def load(self) -> Environment | None:
        """The cached Environment, or ``None`` if there is none; raises ``CacheError`` if unusable."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheError(f"cannot read the cache file {self.path}: {exc.strerror}") from exc
        if self._cipher is not None:
            try:
                data = self._cipher.decrypt(data)
            except Exception as exc:  # cryptography's InvalidToken; the module is optional
                raise CacheError(f"cannot decrypt the cache file {self.path} (wrong key?)") from exc
        try:
            doc: Any = json.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
                raise ValueError("not a config-client cache file")
            return Environment.from_json(doc["environment"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise CacheError(f"the cache file {self.path} is corrupt ({type(exc).__name__})") from exc


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and only best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
