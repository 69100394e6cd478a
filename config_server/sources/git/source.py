"""The git backend's async seam: a bare clone served from memory, fetched in the background.

``GitSource`` owns one ``GitRepository`` (blocking GitPython, see ``repository``) and two worker
threads: a *reader* that owns git's persistent ``cat-file`` process (commit-id labels, trees,
blobs) and a *fetcher* for ``git fetch``. Keeping them apart is what lets a request never wait
for a fetch, however slow the remote: branch and tag labels resolve from the last fetched ref
snapshot without any thread, and trees and blobs (immutable, keyed by id) come from bounded LRU
caches, so repeated requests do not touch a worker at all.

Fetches run every ``refresh_rate`` seconds and, for a remote on this host (a path or ``file:``
URL), also as soon as its refs change on disk (watchfiles), so a local ``git push`` is served
within about a hundred milliseconds. Listeners hear about every fetch that moved refs.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from watchfiles import Change, awatch

from config_server import logs
from config_server.caching import LRU, SingleFlight
from config_server.errors import ConfigServerError, InvalidRequest, LabelNotFound, Unavailable
from config_server.metrics.timings import Timings
from config_server.sources.git.refs import is_full_sha
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repository import GitRepository, GitStatus, Tree

__all__ = ["GitRepository", "GitSource", "GitStatus", "Listener", "Moved", "Tree"]

_log = logging.getLogger(__name__)

Moved = dict[str, tuple[str | None, str | None]]
"""Refs that moved in one fetch: ``refs/heads/X`` or ``refs/tags/X`` → (old, new) commit id."""
Listener = Callable[[Moved], Awaitable[None] | None]

_V = TypeVar("_V")

_WATCH_STEP_MS = 50  # quiet time that ends a burst of ref changes (one push writes several files)
_WATCH_DEBOUNCE_MS = 500  # longest a burst is gathered before a fetch starts anyway
_WATCH_RETRY_S = 2.0  # how soon to look again for a local remote that is missing
_CLOSE_GRACE_S = 10.0  # how long close() waits for its cancelled tasks before it warns
# Trees and blobs never change, so the caches only bound memory: trees by their number of paths.
_TREE_CACHE_ENTRIES = 256
_TREE_CACHE_PATHS = 500_000
_BLOB_CACHE_ENTRIES = 100_000
_BLOB_CACHE_BYTES = 64 * 1024 * 1024
_KNOWN_COMMITS = 100_000  # commit-id labels already resolved, answered without git


class GitSource:
    """One git remote served asynchronously: labels, trees and blobs, with background fetches.

    Use from one event loop. ``start()`` before anything else, ``close()`` at shutdown.
    """

    def __init__(
        self,
        *,
        uri: str,
        basedir: Path,
        default_label: str = "main",
        refresh_rate: float = 5.0,
        access: RemoteAccess | None = None,
        shallow: bool = False,
        serve_unreachable: bool = False,
        try_master: bool = True,
        prune: bool = True,
    ) -> None:
        """``refresh_rate``: seconds between background fetches (0 or less: none; a local remote is
        still watched). ``access``: credentials, TLS, SSH and the timeout after which a git
        command is killed. ``shallow``: fetch branches and tags with depth 1 and other commits on
        demand. ``serve_unreachable``: keep serving commits a force-push left behind.
        ``try_master`` and ``prune``: see ``GitRepository``."""
        self.repository = GitRepository(
            uri=uri,
            basedir=basedir,
            default_label=default_label,
            access=access,
            shallow=shallow,
            serve_unreachable=serve_unreachable,
            try_master=try_master,
            prune=prune,
        )
        self.display_uri = self.repository.display_uri
        self.refresh_rate = refresh_rate
        self.fetches = Timings()
        """Every background or requested fetch: its wall time and whether it failed (metrics)."""
        self._trees: LRU[str, Tree] = LRU(_TREE_CACHE_ENTRIES, max_weight=_TREE_CACHE_PATHS, weigh=_tree_size)
        self._blobs: LRU[str, bytes] = LRU(
            _BLOB_CACHE_ENTRIES, max_weight=_BLOB_CACHE_BYTES, weigh=lambda b: max(len(b), 1)
        )
        self._reads: SingleFlight[tuple[str, str], object] = SingleFlight()
        # Full commit ids that resolved, so a cached environment needs no git (a clone being
        # rebuilt must not turn it into a 503). Emptied when a fetch rewrites history.
        self._commits: LRU[str, bool] = LRU(_KNOWN_COMMITS)
        self._rewrites = 0
        # Abbreviated commit ids that resolved, to their full ids: valid until a fetch moves refs
        # (new objects may make one ambiguous), so a pinned short label needs no git per request.
        self._abbreviated: LRU[str, str] = LRU(_KNOWN_COMMITS)
        self._ref_moves = 0
        self._listeners: list[Listener] = []
        self._reader: ThreadPoolExecutor | None = None
        self._fetcher: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._stop = threading.Event()  # read by watchfiles' thread, so a thread-safe event
        self._fetching = asyncio.Lock()  # one fetch at a time
        self._queued: asyncio.Task[Moved] | None = None  # the fetch waiting to start, shared
        self._refreshes: set[asyncio.Task[Moved]] = set()  # running and waiting: close() ends them

    @property
    def status(self) -> GitStatus:
        """When the remote was last fetched and the last error (a snapshot; safe to read anytime)."""
        return self.repository.status

    @property
    def has_data(self) -> bool:
        """Whether there is a fetched branch or tag to serve (even with the remote unreachable)."""
        return self.repository.has_data

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(moved)`` after every fetch that moved refs (sync or async; errors logged)."""
        self._listeners.append(callback)

    async def start(self) -> None:
        """Open the clone (cloning if needed) and start background fetching and watching.

        Raises ``Unavailable`` if the remote cannot be reached and there is no clone yet, and
        ``InvalidConfiguration`` if basedir holds data this server did not create.
        """
        if self._reader is not None:
            raise RuntimeError("GitSource.start() called twice")
        self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="git-fetch")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="git-read")
        self._stop.clear()
        try:
            await asyncio.get_running_loop().run_in_executor(self._fetcher, self.repository.open)
        except BaseException:
            await self._shutdown_executors()
            raise
        remote = self.repository.local_path
        if remote is not None:
            ready = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._watch(remote, ready), name="git-watch"))
            await ready.wait()
        if self.refresh_rate > 0 or remote is not None:
            self._tasks.append(asyncio.create_task(self._refresh_loop(), name="git-refresh"))

    async def close(self) -> None:
        """Stop fetching and watching, wait for a running fetch, stop git's helper processes."""
        self._stop.set()
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *self._refreshes]
        self._tasks, self._queued = [], None
        for task in tasks:
            task.cancel()
        if tasks:
            # Both tasks end within a loop step or two of the cancel. The bound is a backstop so a
            # task that ever ignores its cancel shows up as a warning (and a task asyncio.run
            # cancels) rather than a shutdown that hangs.
            done, stuck = await asyncio.wait(tasks, timeout=_CLOSE_GRACE_S)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    _log.error("%s failed", task.get_name(), exc_info=task.exception())
            if stuck:
                _log.warning(
                    "%s: %s still running %ss after close; leaving them",
                    self.display_uri,
                    ", ".join(sorted(task.get_name() for task in stuck)),
                    _CLOSE_GRACE_S,
                )
        await self._shutdown_executors()

    async def refresh(self) -> Moved:
        """Fetch now and return the refs that moved; never raises (``status`` records failures).

        The fetch starts after any running one (which may have begun before the push this call
        is about). Calls that arrive while such a fetch waits to start share it, so a burst of
        webhooks costs one running fetch and one waiting, never one fetch per call.
        """
        if self._fetcher is None:
            raise RuntimeError("GitSource.start() has not been called")
        queued = self._queued
        if queued is None or queued.done():
            queued = self._queued = asyncio.create_task(self._refresh_after_running(), name="git-fetch")
            self._refreshes.add(queued)
            queued.add_done_callback(self._refreshes.discard)
        # Shielded: one caller giving up must not cancel the fetch the others wait for.
        return await asyncio.shield(queued)

    async def _refresh_after_running(self) -> Moved:
        async with self._fetching:
            self._queued = None  # started: a later call queues the next fetch
            if self._fetcher is None:  # closed meanwhile
                return {}
            return await self._fetch_now()

    async def _fetch_now(self) -> Moved:
        """One fetch in its span, logged as one line (the repository, what moved, how long)."""
        attributes = {"vcs.repository.url.full": self.display_uri}
        with logs.timed_event(
            _log, "git.fetch", "git fetch", attributes, "git fetch from %s: %s", self.display_uri
        ) as timed:
            moved = await self._fetch_in_span()
            timed.outcome = "ok" if self.status.last_error is None else "failed"
            timed.span.set("config.refs_moved", len(moved))
            return moved

    async def _fetch_in_span(self) -> Moved:
        assert self._fetcher is not None
        failing = self.status.last_error
        try:
            with self.fetches.timed():
                moved = await asyncio.get_running_loop().run_in_executor(self._fetcher, self.repository.fetch)
        except ConfigServerError as exc:
            if exc.message != failing:  # once per distinct error, not every refresh_rate seconds
                _log.warning(
                    "fetch from %s failed; serving the last fetched state: %s", self.display_uri, exc
                )
            return {}
        except Exception:
            _log.exception("fetch from %s failed unexpectedly", self.display_uri)
            return {}
        if failing is not None:
            _log.info("fetch from %s works again", self.display_uri)
        self._forget_rewritten()
        if moved:
            await self._notify(moved)
        return moved

    def label_name(self, label: str | None) -> str:
        """The label a request means (None: the default label, after its ``master`` fallback)."""
        return self.repository.label_name(label)

    async def resolve(self, label: str | None) -> str:
        """The commit a label names (None: the default label), from the last fetched state.

        A full commit id resolved before (and still reachable) needs no git, nor does an abbreviated
        one resolved since refs last moved. In a shallow clone, a full commit id outside the
        fetched history is fetched once on demand. Raises
        ``InvalidRequest`` for a malformed label, ``LabelNotFound`` for an unknown one (or one the
        remote refuses to send), ``Unavailable`` when the clone cannot be read.
        """
        found = self.repository.lookup(label)
        if found is not None:
            return found
        self._forget_rewritten()  # now, not when refresh() resumes: the refs are already published
        if label is not None and is_full_sha(label) and self._commits.get(label):
            return label
        if label is not None and (known := self._abbreviation(label)) is not None:
            return known
        rewrites, ref_moves = self._rewrites, self.repository.ref_moves
        try:
            commit = await self._run(self.repository.resolve, label)
        except LabelNotFound:
            if not (self.repository.shallow and label is not None and is_full_sha(label)):
                raise
            commit = await self._fetch_on_demand(label)
        if rewrites != self.repository.rewrites:  # history moved meanwhile: remember nothing
            return commit
        if commit == label:
            self._commits.put(commit, True)
        elif label is not None and ref_moves == self.repository.ref_moves and _is_abbreviation(label, commit):
            self._abbreviated.put(label, commit)
        return commit

    def _abbreviation(self, label: str) -> str | None:
        """The full id an abbreviated commit id ``label`` resolved to since refs last moved (no I/O)."""
        if self.repository.ref_moves != self._ref_moves:
            self._ref_moves = self.repository.ref_moves
            self._abbreviated.clear()
        return self._abbreviated.get(label)

    def _forget_rewritten(self) -> None:
        """Empty the known commit ids once a fetch rewrote history (no I/O)."""
        if self.repository.rewrites != self._rewrites:
            self._rewrites = self.repository.rewrites
            self._commits.clear()

    async def tree(self, commit: str) -> Tree:
        """The files of a commit (full id); cached. Raises ``InvalidRequest``, ``LabelNotFound``."""
        if not is_full_sha(commit):
            raise InvalidRequest(f"Not a full commit id: {commit[:80]!r}")
        cached = self._trees.get(commit)
        if cached is not None:
            return cached
        tree = await self._once(("tree", commit), self.repository.tree, commit)
        assert isinstance(tree, Tree)
        self._trees.put(commit, tree)
        return tree

    async def read_blob(self, blob: str) -> bytes:
        """The bytes of a blob (full id); cached. Raises ``InvalidRequest``, ``ResourceNotFound``."""
        if not is_full_sha(blob):
            raise InvalidRequest(f"Not a full blob id: {blob[:80]!r}")
        cached = self._blobs.get(blob)
        if cached is not None:
            return cached
        data = await self._once(("blob", blob), self.repository.read_blob, blob)
        assert isinstance(data, bytes)
        if len(data) <= _BLOB_CACHE_BYTES // 16:  # so one huge file cannot flush the cache
            self._blobs.put(blob, data)
        return data

    def is_ref(self, label: str | None) -> bool:
        """Whether ``label`` (None: the default label) names a fetched branch or tag, as opposed
        to a commit id. No I/O. Raises ``InvalidRequest`` for a malformed label."""
        return self.repository.lookup(label) is not None

    async def history(self, commit: str, limit: int) -> list[str]:
        """``commit`` and its first-parent ancestors, newest first, at most ``limit`` (one git
        call on the reader). Raises ``InvalidRequest``, ``LabelNotFound``, ``Unavailable``."""
        if self._reader is None:
            raise RuntimeError("GitSource.start() has not been called")
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, self.repository.history, commit, limit
        )

    # -- internals -------------------------------------------------------------------------------

    async def _fetch_on_demand(self, commit: str) -> str:
        if self.repository.refused(commit):  # asked before: answer without waiting for the fetcher
            raise self.repository.refusal(commit)
        fetcher = self._fetcher
        if fetcher is None:
            raise RuntimeError("GitSource.start() has not been called")
        loop = asyncio.get_running_loop()
        await self._reads.do(
            ("fetch", commit), lambda: loop.run_in_executor(fetcher, self.repository.fetch_commit, commit)
        )
        return await self._run(self.repository.resolve, commit)

    async def _run(self, fn: Callable[[str | None], _V], arg: str | None) -> _V:
        if self._reader is None:
            raise RuntimeError("GitSource.start() has not been called")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._reader, fn, arg)
        except Unavailable:
            self._wake.set()  # the clone may be damaged: the next fetch checks and rebuilds it
            raise

    async def _once(self, key: tuple[str, str], fn: Callable[[str], object], arg: str) -> object:
        """Run ``fn(arg)`` on the reader, sharing one run among concurrent callers with the same key."""
        reader = self._reader
        if reader is None:
            raise RuntimeError("GitSource.start() has not been called")
        loop = asyncio.get_running_loop()
        # Single flight shields the read: one caller giving up must not cancel it for the others.
        try:
            return await self._reads.do(key, lambda: loop.run_in_executor(reader, fn, arg))
        except Unavailable:
            self._wake.set()  # the clone may be damaged: the next fetch checks and rebuilds it
            raise

    async def _notify(self, moved: Moved) -> None:
        for callback in list(self._listeners):
            try:
                result = callback(moved)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _log.exception("git change listener %r failed", callback)

    async def _refresh_loop(self) -> None:
        interval = self.refresh_rate if self.refresh_rate > 0 else None
        while not self._stop.is_set():
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns normally when a cancel
            # lands in the loop step the wait finishes in (and start() leaves a wake pending), so
            # close() would wait for a loop that never ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.refresh()

    async def _watch(self, remote: Path, ready: asyncio.Event) -> None:
        """Wake the refresh loop whenever the local remote's refs change on disk."""
        try:
            while not self._stop.is_set():
                gitdir = _git_dir(remote)
                if gitdir is not None:
                    try:
                        await self._watch_gitdir(gitdir, ready)
                        return
                    except Exception as exc:
                        _log.warning("cannot watch %s for pushes (%s); will retry", gitdir, exc)
                ready.set()
                await asyncio.sleep(_WATCH_RETRY_S)
        finally:
            ready.set()  # start() waits for this; it must never wait forever

    async def _watch_gitdir(self, gitdir: Path, ready: asyncio.Event) -> None:
        changes = awatch(
            gitdir,
            watch_filter=_RefChanges(gitdir),
            debounce=_WATCH_DEBOUNCE_MS,
            step=_WATCH_STEP_MS,
            stop_event=self._stop,
        )
        pending = asyncio.create_task(_next(changes))
        try:
            await asyncio.sleep(0)  # awatch installs its watches in its first step
            ready.set()
            self._wake.set()  # catch up on anything pushed before the watches existed
            while await pending:
                self._wake.set()
                pending = asyncio.create_task(_next(changes))
        finally:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
            # Close the generator while the loop runs: watchfiles' worker thread (anyio's, not a
            # daemon) is released here, and one left behind keeps the process from exiting.
            with contextlib.suppress(Exception):
                await changes.aclose()

    async def _shutdown_executors(self) -> None:
        fetcher, reader = self._fetcher, self._reader
        self._fetcher = self._reader = None
        if fetcher is not None:
            # A running fetch is bounded by the kill timeout; wait so nothing writes after close.
            await asyncio.to_thread(fetcher.shutdown, True)
        if reader is not None:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(RuntimeError):
                await loop.run_in_executor(reader, self.repository.close)
            await asyncio.to_thread(reader.shutdown, True)


def _is_abbreviation(label: str, commit: str) -> bool:
    """Whether ``label`` is an abbreviation of the full commit id ``commit`` (not a ref name)."""
    return 4 <= len(label) < len(commit) and commit.startswith(label.lower())


async def _next(changes: AsyncGenerator[set[tuple[Change, str]], None]) -> bool:
    """Wait for the next batch from an ``awatch`` generator; False once it has stopped."""
    try:
        await anext(changes)
    except StopAsyncIteration:
        return False
    return True


def _tree_size(tree: Tree) -> int:
    return len(tree.files) + len(tree.dirs)


def _git_dir(remote: Path) -> Path | None:
    """The directory holding a local remote's refs: itself if bare, else its ``.git``."""
    for gitdir in (remote, remote / ".git"):
        with contextlib.suppress(OSError):
            if (gitdir / "HEAD").is_file() and (gitdir / "refs").is_dir():
                return gitdir
    return None


class _RefChanges:
    """A watchfiles filter passing only changes to refs (loose refs or ``packed-refs``)."""

    def __init__(self, gitdir: Path) -> None:
        self._root = str(gitdir).rstrip("/") + "/"

    def __call__(self, change: Change, path: str) -> bool:
        if not path.startswith(self._root) or path.endswith(".lock"):
            return False
        rel = path[len(self._root) :]
        return rel == "packed-refs" or rel.startswith("refs/")
