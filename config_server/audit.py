"""The tamper-evident audit log: one sealed JSON line per security-relevant event.

A line, compact (here wrapped)::

    {"time":"2025-01-31T12:00:00.123Z","seq":42,"event":"read","principal":"orders","auth":"basic",
     "address":"10.0.0.7","application":"orders","profiles":["prod"],"label":"main",
     "commit":"5f1c...","vault":["secret/orders"],"status":200,"trace_id":"00-4bf9...-01",
     "prev":"<HMAC of line 41>","mac":"<HMAC of this line>"}

Fixed fields come first in the order of ``FIELDS``, then any extras sorted by name, then ``prev``
and ``mac`` (how lines are sealed and checked: ``config_server.audit_verify``). A field that is
None is left out. Field names that could carry a value, a token or a password are refused, so a
caller cannot log one by mistake.

Fail closed. ``await record(...)`` returns once the line is written to the file (``write(2)``
returned; no fsync) or to standard output (flushed). When it cannot be written (disk full, a
directory gone, a path that became a directory) it raises ``Unavailable`` and ``health()`` is
DOWN (``essential``: the server reports DOWN). The log keeps trying: every later ``record`` tries
again (reopening the path), and while DOWN a probe reopens it every ``retry_interval`` seconds, so
health comes back UP without traffic once the path can be opened and its file system has space.
A batch that failed part-way is cut back off the file: no half line stays, and the chain goes on
from the last line written.

Rotation. ``reopen()`` (on SIGHUP) and a path that no longer names the open file (``logrotate``
moved it: its device and inode are compared before each batch, as ``WatchedFileHandler`` does)
make the next batch open the path anew; its first line links to the last line of the old file and
``seq`` continues. At ``open()`` an existing file's last line is read and checked, and the chain
continues from it; a last line that is cut or does not carry this key's ``mac`` stops the start
(move the file aside, keep it as evidence). With ``-`` (standard output) nothing can be read back:
each start begins a new chain at seq 1, and the collector sees it. What the files alone cannot
show (lines cut off the end): see ``config_server.audit_verify``.

Threads: one writer thread drains a queue in batches; ``record`` only queues and awaits, so the
event loop never blocks on the disk. ``reopen`` and ``health`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import queue
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Final

from config_server.audit_verify import genesis, link, seal, unseal
from config_server.errors import InvalidConfiguration, Unavailable
from config_server.sources.base import SourceHealth

if TYPE_CHECKING:
    from config_server.settings import Settings

__all__ = ["EVENTS", "FIELDS", "AuditLog"]

log = logging.getLogger(__name__)

EVENTS: Final = frozenset(
    {
        "read",
        "resource",
        "encrypt",
        "decrypt",
        "key",
        "monitor",
        "auth-failure",
        "denied",
        "policy-reloaded",
        "start",
        "stop",
    }
)
"""The events ``record`` takes."""

FIELDS: Final = (
    "principal",
    "auth",
    "address",
    "application",
    "profiles",
    "label",
    "commit",
    "vault",
    "status",
    "action",
    "reason",
    "trace_id",
)
"""The fixed fields, in the order they appear after ``time``, ``seq`` and ``event``."""

_RESERVED = frozenset({"time", "seq", "event", "prev", "mac"})
# A field named like this could only be there to carry what must never be logged.
_FORBIDDEN = ("password", "passwd", "token", "secret", "value", "credential", "cookie", "authorization")
# Open errors an operator fixes in the settings or the file system (the rest: retry later).
_SETTING_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ELOOP}
)
_BATCH = 512  # lines per write at most
_MIN_FREE = 64 * 1024  # bytes a DOWN log's file system must have free before the probe says UP


@dataclass(slots=True)
class _Pending:
    fields: dict[str, Any]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


_STOP: Final = object()


class AuditLog:
    """An append-only, HMAC-chained audit log written to a file or (``target="-"``) to stdout.

    ``key`` is the chain's HMAC key (``--audit-key``); it never appears in a line or a message.
    """

    def __init__(self, *, target: str, key: bytes, retry_interval: float = 5.0) -> None:
        if not key:
            raise ValueError("the audit key is empty")
        self.target = target
        self._key = key
        self._retry = retry_interval
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._reopen = threading.Event()
        # Owned by the writer thread once it runs (by open() before).
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
        self._stream: IO[bytes] | None = None
        self._seq = 0  # of the last line written
        self._prev = genesis(key)  # the link the next line carries
        self._down: tuple[str, datetime] | None = ("not open", datetime.now(UTC))

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditLog | None:
        """The log ``--audit-log`` asks for (not yet open), or None when there is none.

        Raises ``InvalidConfiguration`` when ``--audit-key`` is missing or empty.
        """
        if not settings.audit_log:
            return None
        if not settings.audit_key:
            raise InvalidConfiguration("--audit-key", "required with --audit-log (the chain's HMAC key)")
        return cls(target=settings.audit_log, key=settings.audit_key.reveal().encode())

    async def open(self) -> None:
        """Open the target and continue the chain of an existing file; start the writer thread.

        Raises ``InvalidConfiguration`` (a path that cannot be a log file, or whose last line is
        cut or not under this key) or ``Unavailable`` (any other failure to open it).
        """
        if self._thread is not None or self._closed:
            raise RuntimeError("an AuditLog is opened once")
        await asyncio.to_thread(self._start)
        self._down = None
        self._thread = threading.Thread(target=self._run, name="audit-log-writer", daemon=True)
        self._thread.start()

    async def record(self, event: str, **fields: Any) -> None:
        """Append one line for ``event``; returns once it is written (fail closed).

        ``fields`` are JSON-serialisable; None values are left out. Raises ``ValueError`` for an
        unknown event or a field that is reserved, not serialisable or named like a secret
        (``password``, ``token``, ``secret``, ``value``, ``*key``...), and ``Unavailable`` when the line
        could not be written (or the log is not open).
        """
        line = _fields(event, fields)
        if self._thread is None or self._closed:
            raise Unavailable("audit log unavailable: not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(line, future, loop))
        await future

    def reopen(self) -> None:
        """Open the path anew before the next line (after rotation: the SIGHUP handler's call)."""
        self._reopen.set()

    def health(self) -> SourceHealth:
        """UP while lines are written; DOWN (essential) with the error while they cannot be."""
        down = self._down
        if down is None:
            return SourceHealth(name="audit", status="UP", details={"target": self.target, "seq": self._seq})
        error, since = down
        return SourceHealth(
            name="audit", status="DOWN", details={"target": self.target, "error": error, "since": since}
        )

    async def close(self) -> None:
        """Write what is queued, stop the writer and close the file; later records raise."""
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(thread.join)
        self._close_fd()
        self._down = ("closed", datetime.now(UTC))

    # --- the writer thread (and open(), before it starts) ---

    def _start(self) -> None:
        if self.target == "-":
            self._stream = sys.stdout.buffer
            return
        try:
            self._open_path()
            assert self._fd is not None
            size = os.fstat(self._fd).st_size
            tail = _last_line(self._fd, size) if size else None
        except OSError as exc:
            self._close_fd()
            reason = exc.strerror or type(exc).__name__
            if exc.errno in _SETTING_ERRNOS:
                raise InvalidConfiguration(self.target, f"cannot open the audit log: {reason}") from None
            raise Unavailable(f"audit log unavailable: cannot open {self.target}: {reason}") from None
        if tail is None:
            return
        aside = "; move the file aside (keep it as evidence) to start a new chain"
        if not tail.endswith(b"\n"):
            self._close_fd()
            raise InvalidConfiguration(self.target, f"its last line is cut (no newline){aside}")
        try:
            fields = unseal(self._key, tail[:-1])
        except ValueError as exc:
            self._close_fd()
            raise InvalidConfiguration(
                self.target, f"its last line cannot be continued: {exc}{aside}"
            ) from None
        self._seq, self._prev = fields["seq"], link(self._key, tail[:-1])

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._retry if self._down else None)
            except queue.Empty:
                self._probe()
                continue
            batch: list[_Pending] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, _Pending)
                batch.append(item)
                if len(batch) >= _BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending]) -> None:
        seq, prev, lines = self._seq, self._prev, []
        for pending in batch:
            seq += 1
            fields = pending.fields
            fields["seq"], fields["prev"] = seq, prev
            line = seal(self._key, fields)
            lines.append(line)
            prev = link(self._key, line)
        data = b"\n".join(lines) + b"\n"
        try:
            self._ensure_open()
            self._append(data)
        except (OSError, ValueError) as exc:  # ValueError: standard output was closed
            self._close_fd()
            reason = (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__
            if self._down is None:
                log.error("audit log unavailable: cannot write %s: %s", self.target, reason)
            self._down = (reason, datetime.now(UTC))
            for pending in batch:
                _settle(pending, Unavailable(f"audit log unavailable: cannot write {self.target}: {reason}"))
            return
        if self._down is not None:
            log.warning("audit log %s is written again", self.target)
        self._seq, self._prev, self._down = seq, prev, None
        for pending in batch:
            _settle(pending, None)

    def _append(self, data: bytes) -> None:
        """Write all of ``data``; on failure cut the file back to where it was (no half line)."""
        if self._stream is not None:
            self._stream.write(data)
            self._stream.flush()
            return
        assert self._fd is not None
        start = os.fstat(self._fd).st_size
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):  # not a regular file (/dev/full): nothing to cut
                if os.fstat(self._fd).st_size > start:
                    os.ftruncate(self._fd, start)
            raise

    def _ensure_open(self) -> None:
        if self._stream is not None:
            return
        if self._reopen.is_set():
            self._reopen.clear()
            self._close_fd()
        if self._fd is not None:
            try:
                st = os.stat(self.target)
                moved = (st.st_dev, st.st_ino) != self._ident
            except OSError:
                moved = True
            if moved:
                self._close_fd()
        if self._fd is None:
            self._open_path()

    def _open_path(self) -> None:
        fd = os.open(self.target, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        st = os.fstat(fd)
        self._fd, self._ident = fd, (st.st_dev, st.st_ino)

    def _probe(self) -> None:
        """While DOWN: UP again once the path opens on a file system with room."""
        if self._stream is not None or self._down is None:
            return
        try:
            self._ensure_open()
            assert self._fd is not None
            fs = os.fstatvfs(self._fd)
        except OSError as exc:
            self._close_fd()
            self._down = (exc.strerror or type(exc).__name__, self._down[1])
            return
        if fs.f_bavail * fs.f_frsize >= _MIN_FREE:
            log.warning("audit log %s can be opened again", self.target)
            self._down = None

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _fields(event: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The line's fields in their fixed order (``seq`` and ``prev`` are set by the writer)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    for name in fields:
        lowered = name.lower()
        if name in _RESERVED or any(word in lowered for word in _FORBIDDEN) or lowered.endswith("key"):
            raise ValueError(f"audit field {name!r} is reserved or could carry a secret")
    now = datetime.now(UTC)
    line: dict[str, Any] = {
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "seq": 0,
        "event": event,
    }
    for name in (*FIELDS, *sorted(set(fields) - set(FIELDS))):
        value = fields.get(name)
        if value is not None:
            line[name] = list(value) if isinstance(value, tuple | frozenset | set) else value
    try:
        json.dumps(line, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit fields are not JSON-serialisable: {exc}") from None
    return line


def _last_line(fd: int, size: int) -> bytes:
    """The file's last line with its newline, if it has one (blocking)."""
    chunk = 4096
    while True:
        start = max(0, size - chunk)
        data = os.pread(fd, size - start, start)
        cut = data.rfind(b"\n", 0, len(data) - 1)
        if cut >= 0 or start == 0:
            return data[cut + 1 :]
        chunk *= 4


def _settle(pending: _Pending, error: BaseException | None) -> None:
    def done() -> None:
        if pending.future.done():  # the caller was cancelled
            return
        if error is None:
            pending.future.set_result(None)
        else:
            pending.future.set_exception(error)

    with contextlib.suppress(RuntimeError):  # the caller's loop has closed
        pending.loop.call_soon_threadsafe(done)
