"""``FileWatch``: call back when files change on disk (users file, access policy, TLS material).

watchfiles watches each file's *directory*, so the swaps that tools make are seen: an editor's
write-to-temp-and-rename, ``htpasswd``'s rewrite, cert-manager's and Kubernetes' ``..data``
symlink switch in a mounted secret. The callback then re-reads and validates the file itself and
keeps the old version when the new one is invalid; a burst of changes is debounced into one call.

``close()`` stops the watch by its stop event and waits for the watcher to return, rather than
cancelling it: the watch runs in an anyio worker thread, and a cancellation that lands while that
thread hands back its result could leave the task waiting for a result that never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import Change, awatch

from config_server import logs
from config_server.errors import InvalidConfiguration

__all__ = ["FileWatch", "read_text"]

log = logging.getLogger(__name__)

_DEBOUNCE_MS = 200
_STEP_MS = 50
_RETRY_S = 5.0
_CLOSE_TIMEOUT_S = 5.0

OnChange = Callable[[], object]  # its result is awaited when it is awaitable, else ignored


class FileWatch:
    """Watch ``paths`` (files) and call ``on_change()`` after any of them changed.

    ``on_change`` may be sync or async; its exceptions are logged, never raised here. A directory
    that cannot be watched (it does not exist yet) is retried every few seconds.
    """

    def __init__(self, paths: Iterable[Path], on_change: OnChange, *, name: str) -> None:
        self._files = {p.absolute() for p in paths}
        self._dirs = sorted({p.parent for p in self._files})
        self._on_change = on_change
        self._name = name
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start watching (returns once the watches are being installed)."""
        if self._task is not None:
            raise RuntimeError("FileWatch.start() called twice")
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"watch-{self._name}")
        await asyncio.sleep(0)

    async def close(self) -> None:
        """Stop watching and wait for the watcher thread to return (idempotent)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), _CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("the %s file watch did not stop in time; cancelling it", self._name)
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        except Exception:
            log.exception("the %s file watch failed", self._name)

    def _relevant(self, change: Change, path: str) -> bool:
        changed = Path(path)
        # Kubernetes secret volumes swap a ``..data`` symlink: any change there may be ours.
        return changed in self._files or changed.name.startswith("..")

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async for _ in awatch(
                    *self._dirs,
                    watch_filter=self._relevant,
                    debounce=_DEBOUNCE_MS,
                    step=_STEP_MS,
                    stop_event=self._stop,
                    recursive=False,
                ):
                    await self._notify()
                return
            except Exception as exc:  # a directory that is gone, an inotify limit
                log.warning("cannot watch %s for changes (%s); retrying", self._name, exc)
            await asyncio.get_running_loop().run_in_executor(None, self._stop.wait, _RETRY_S)

    async def _notify(self) -> None:
        attributes = {"config.file": self._name}
        with logs.timed_event(
            log, "file.reload", "file reload", attributes, "%s changed: reloaded (%s)", self._name
        ) as timed:
            try:
                result = self._on_change()
                if inspect.isawaitable(result):
                    await result
                timed.outcome = "ok"
            except Exception:
                log.exception("reloading %s failed", self._name)


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of a watched file; raises ``InvalidConfiguration`` naming ``what`` and why."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidConfiguration(str(path), f"cannot read the {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidConfiguration(str(path), f"the {what} is not UTF-8 text") from None
