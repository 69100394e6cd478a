"""A bearer token read from a file that is rotated in place (Kubernetes projected tokens).

The kubelet rotates a projected service-account token by writing a new directory and swapping
the ``..data`` symlink, so the path keeps its name while the file behind it changes. Before each
request the file is ``stat``-ed (following links); it is read again only when its device, inode,
modification time or size differ, which costs one system call per request.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from config_client.errors import TokenFileError

__all__ = ["FileToken"]

_Stamp = tuple[int, int, int, int]


class FileToken:
    """The token in ``path`` (surrounding whitespace stripped), re-read when the file changes.

    ``token()`` raises ``TokenFileError`` (naming the file, never its content) when the file is
    missing, unreadable, not UTF-8, empty, or holds whitespace or control characters inside
    the token. Thread-safe; the file is read in a worker thread, never on the event loop.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._guard = threading.Lock()
        self._stamp: _Stamp | None = None
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"FileToken({str(self.path)!r})"

    async def token(self) -> str:
        """The current token (re-read if the file changed since the last call)."""
        return await asyncio.to_thread(self._current, False)

    async def renew(self, rejected: str) -> str | None:
        """Read the file again; the token there if it differs from ``rejected``, else ``None``."""
        token = await asyncio.to_thread(self._current, True)
        return token if token != rejected else None

    async def aclose(self) -> None:
        """Nothing to release."""

    def _current(self, force: bool) -> str:
        with self._guard:
            try:
                st = os.stat(self.path)
                stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                if force or self._token is None or stamp != self._stamp:
                    self._token = _parse(self.path.read_text(encoding="utf-8"), str(self.path))
                    self._stamp = stamp
            except OSError as exc:
                raise TokenFileError(str(self.path), exc.strerror or type(exc).__name__) from exc
            except UnicodeDecodeError as exc:
                raise TokenFileError(str(self.path), "it is not UTF-8 text") from exc
            return self._token


def _parse(text: str, path: str) -> str:
    token = text.strip()
    if not token:
        raise TokenFileError(path, "the file is empty")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token):
        # A header value cannot carry these; a second line usually means the wrong file.
        raise TokenFileError(path, "the token contains whitespace or control characters")
    return token
