"""``GitRepositories``: the git ``Source`` over a default repository and Spring's pattern repositories.

Each query is served by one concrete repository, chosen as Spring's
``MultipleJGitEnvironmentRepository`` does (reference §6.4, rules in ``repos``): the first
pattern repository, in declaration order, that matches the request and can answer it (the
repository exists and has the label); otherwise the default one. A pattern repository that
cannot answer (it cannot be cloned, or lacks the label) is passed over, as Spring does
(``MultipleJGitEnvironmentApplicationPlaceholderRepositoryTests#missingRepo``); a broken file in
it is an error, never a reason to serve another repository's configuration.

Concrete repositories each have their own clone (a ``GitSource`` under its own basedir), fetch
loop, health entry and ``/monitor`` routing. A URI with ``{application}``, ``{profile}`` or
``{label}`` makes one clone per expanded URI, created on the first request that needs it and
closed, and its directory removed, when it is the least recently used beyond ``max_clones``; at
most ``OPENING_AT_ONCE`` are being cloned at a time, and one that fails leaves nothing on disk
(a flood of requests for made-up application names costs neither threads nor disk). A repository
that cannot be cloned (at start-up, or an expansion at its first request) is shown DOWN in health
and not tried again for ``FAILED_CLONE_RETRY_S``; meanwhile its requests go on down the list.

Change signals are scoped (``ScopedChanges``): a fetch of one repository says which queries it
can move, so with many repositories a push recomputes only the watchers of the one it went to.
A pattern repository can move the queries it is consulted for (its patterns match; for a
template, one of the query's expansions is its URI), whether or not it serves them now, since a
label it gains or loses changes who serves them. The default repository moves the queries no
pattern repository could serve, and those it serves right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import logging
import shutil
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from config_server.caching import SingleFlight
from config_server.errors import ConfigServerError, InvalidConfiguration, LabelNotFound, Unavailable
from config_server.sources.base import (
    ChangeListener,
    Contribution,
    Query,
    ScopedListener,
    Source,
    SourceHealth,
)
from config_server.sources.git.files import GitConfigSource
from config_server.sources.git.layout import MARKER, make_private
from config_server.sources.git.refs import display_uri
from config_server.sources.git.repos import RepoSpec, expand, repository_key
from config_server.sources.git.source import GitSource
from config_server.sources.git.transport import Transport

__all__ = ["FAILED_CLONE_RETRY_S", "MAX_CLONES", "OPENING_AT_ONCE", "GitRepositories", "Repository"]

log = logging.getLogger(__name__)

MAX_CLONES = 100
"""Default bound on the clones made from URI templates (over all template repositories)."""
FAILED_CLONE_RETRY_S = 30.0
"""How long an expanded URI that could not be cloned is passed over without trying again."""
OPENING_AT_ONCE = 4
"""How many template clones may be in the making at once (each holds two threads and a git)."""
_FAILED_MEMORY = 1024  # expanded URIs whose failure is remembered


@dataclass(eq=False, slots=True)
class Repository:
    """One concrete repository: its health-entry name, URI and, once started, its clone."""

    name: str  # "git", "git:payments", "git:teams:orders"
    spec: RepoSpec  # resolved: nothing left to inherit
    uri: str  # expanded
    git: GitSource
    files: Source  # its GitConfigSource, or that wrapped (``wrap``)
    index: int  # -1: the default repository; else its spec's position in ``specs``
    started: bool = False
    error: str | None = None  # why start() failed, while it has not succeeded
    failed_at: float | None = None  # time.monotonic() of that failure


@dataclass(frozen=True, slots=True)
class _Pin:
    index: int  # -1: the default repository; else the pattern repository's position
    uri: str
    inner: Hashable
    tag: str = ""  # a template clone's placeholder values, naming its health entry


class GitRepositories:
    """The git ``Source``: a default repository plus pattern repositories (maybe none).

    ``default`` and ``repos`` are resolved specs (``RepoSpec.resolved``); ``basedir`` holds the
    default clone and ``repos_dir`` one sub-directory per pattern repository (and per expanded
    URI). ``name`` is the source's name (and the default's health entry). ``wrap`` turns each
    concrete repository's ``GitConfigSource`` into the Source served (``--serve-last-good``).
    Use from one event loop: ``start()`` first, ``close()`` at shutdown.
    """

    poll_interval = 0.0  # fetches call the listeners

    def __init__(
        self,
        *,
        default: RepoSpec,
        repos: Sequence[RepoSpec] = (),
        basedir: Path,
        repos_dir: Path,
        name: str = "git",
        cache_size: int = 2048,
        max_clones: int = MAX_CLONES,
        wrap: Callable[[GitConfigSource], Source] | None = None,
        shallow: bool = False,
        serve_unreachable: bool = False,
        reverse_location_order: bool = False,
        try_master: bool = True,
        prune: bool = True,
        continue_on_label_failure: bool = False,
    ) -> None:
        """``shallow``, ``serve_unreachable``, ``try_master`` and ``prune`` (``GitRepository``)
        and ``continue_on_label_failure`` (``GitConfigSource``) apply to every clone."""
        self.name = name
        self._reverse_locations = reverse_location_order  # every repository's resource lookup
        self._wrap = wrap
        self._shallow = shallow  # --git-shallow and --serve-unreachable-commits: every clone's
        self._serve_unreachable = serve_unreachable
        self._git_flags = {"try_master": try_master, "prune": prune}
        self._continue = continue_on_label_failure
        self.specs = tuple(repos)
        self._repos_dir = repos_dir
        self._cache_size = cache_size
        self._max_clones = max(1, max_clones)
        self._listeners: list[ChangeListener] = []
        self._scoped: list[ScopedListener] = []
        self.default = self._repository(name, -1, default, default.uri, basedir)
        # Fixed-URI pattern repositories by position; templates get theirs on demand.
        self._fixed: dict[int, Repository] = {
            i: self._repository(f"{name}:{spec.name}", i, spec, spec.uri, repos_dir / spec.name)
            for i, spec in enumerate(self.specs)
            if not spec.is_template
        }
        self._clones: OrderedDict[str, Repository] = OrderedDict()  # expanded URI -> clone, LRU first
        self._failed: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._opening: SingleFlight[str, Repository] = SingleFlight()
        self._closing: dict[str, asyncio.Task[None]] = {}  # expanded URI -> its close and removal
        self._open_slots = asyncio.Semaphore(OPENING_AT_ONCE)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Clone or open the default repository (raises as ``GitSource.start``) and the fixed
        pattern repositories; one of those that fails is logged, shown DOWN in health, and tried
        again when a request needs it. Raises ``InvalidConfiguration`` first if a repository names
        a key, known_hosts, CA or password file that cannot be read: that is a setting to fix, and
        passing the repository over would serve its applications another repository's files."""
        await asyncio.to_thread(self._check_files)
        await self.default.git.start()
        self.default.started = True
        if self.specs:  # holds clones of private repositories, as basedir does
            with contextlib.suppress(OSError):  # else each clone in it says why it cannot start
                await asyncio.to_thread(make_private, self._repos_dir)
        await asyncio.gather(*(self._start(repo) for repo in self._fixed.values()))

    def _check_files(self) -> None:
        for spec in self.specs:
            try:
                Transport(spec.uri, spec.access).check()
            except InvalidConfiguration as exc:  # say which repository, as a repos: key error does
                raise InvalidConfiguration(exc.path, f"{exc.problem} (repos.{spec.name})") from None

    async def close(self) -> None:
        """Close every clone (their fetch loops and worker threads)."""
        repos = [*self._fixed.values(), *self._clones.values(), self.default]
        self._clones.clear()
        for repo in repos:
            if repo.started:
                await repo.git.close()
                repo.started = False
        await self.settle()

    async def settle(self) -> None:
        """Wait until the clones evicted so far are closed and their directories removed."""
        if self._closing:
            await asyncio.gather(*self._closing.values(), return_exceptions=True)

    def repositories(self) -> list[Repository]:
        """The concrete repositories open now: the default, fixed ones, template clones."""
        return [self.default, *self._fixed.values(), *self._clones.values()]

    async def refresh(self, urls: Collection[str] | None = None) -> list[str]:
        """Fetch now the started repositories whose remote is one of ``urls`` (compared by
        ``repository_key``), or every one when ``urls`` is None; returns their health names.
        Never raises (each clone's status records a failed fetch)."""
        keys = None if urls is None else {repository_key(u) for u in urls}
        chosen = [
            repo
            for repo in self.repositories()
            if repo.started and (keys is None or repository_key(repo.uri) in keys)
        ]
        await asyncio.gather(*(repo.git.refresh() for repo in chosen))
        return [repo.name for repo in chosen]

    # --- the Source -----------------------------------------------------------------------------

    async def pin(self, query: Query) -> Hashable:
        """The serving repository and its commits. Raises as ``GitConfigSource.pin`` for the default."""
        _, pin = await self._choose(query)
        return pin

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None = None) -> Contribution:
        """The serving repository's files at ``pin`` (property-source names carry its URI)."""
        if not isinstance(pin, _Pin):
            repo, pin = await self._choose(query)
        else:
            repo = await self._pinned(pin)
        return await repo.files.read(query, pin.inner, token=token)

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        """A plain-text resource from the repository that serves ``query``."""
        repo, _ = await self._choose(query)
        return await repo.files.resource(query, path)

    async def health(self) -> SourceHealth:
        """The default repository's entry (``healths`` gives every repository's)."""
        entry = await self.default.files.health()
        return dataclasses.replace(entry, name=self.name)

    async def healths(self) -> list[SourceHealth]:
        """One entry per repository: the default (essential), each pattern repository and each
        template clone (not essential: without them only their applications are affected)."""
        entries = [await self.health()]
        for i, spec in enumerate(self.specs):
            fixed = self._fixed.get(i)
            if fixed is not None:
                entries.append(await self._health(fixed))
                continue
            clones = [c for c in self._clones.values() if c.spec.name == spec.name]
            entries.append(
                SourceHealth(
                    name=f"{self.name}:{spec.name}",
                    status="UP",
                    details={"repository": _display(spec.uri), "clones": len(clones)},
                    essential=False,
                )
            )
            entries.extend([await self._health(clone) for clone in clones])
        return entries

    def add_listener(self, listener: ChangeListener) -> None:
        """``listener()`` after any repository's fetch that moved refs (clones made later too)."""
        self._listeners.append(listener)
        for repo in self.repositories():
            repo.files.add_listener(listener)

    def add_scoped_listener(self, listener: ScopedListener) -> None:
        """``listener(affects)`` after any repository's fetch that moved refs (clones made later
        too), ``affects`` telling the queries that repository can move (see the module's doc)."""
        self._scoped.append(listener)
        for repo in self.repositories():
            repo.files.add_listener(self._scoped_signal(repo, listener))

    async def affects(self, repo: Repository, query: Query) -> bool:
        """Whether a change of ``repo`` may move what ``query`` reads. Pure for pattern
        repositories; for the default one, a query a pattern repository matches is chosen as a
        request would be (pins, maybe a first clone); one that cannot be chosen counts as moved."""
        application = ",".join(query.applications)
        if repo.index >= 0:
            spec = self.specs[repo.index]
            if not spec.matches(application, query.profiles):
                return False
            if not spec.is_template:
                return spec.serves(application, query.profiles)
            return any(uri == repo.uri for uri, _ in _expansions(spec, query, application))
        if not any(spec.matches(application, query.profiles) for spec in self.specs):
            return True
        try:
            served, _ = await self._choose(query)
        except ConfigServerError:
            return True
        return served is self.default

    def _scoped_signal(self, repo: Repository, listener: ScopedListener) -> ChangeListener:
        def moved() -> Awaitable[None] | None:
            return listener(partial(self.affects, repo))

        return moved

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        return set()  # never polled: fetches call the listeners

    # --- choosing a repository ------------------------------------------------------------------

    async def _choose(self, query: Query) -> tuple[Repository, _Pin]:
        application = ",".join(query.applications)
        for index, spec in enumerate(self.specs):
            if not spec.matches(application, query.profiles):
                continue
            for repo, tag in await self._candidates(index, spec, query, application):
                try:
                    return repo, _Pin(index, repo.uri, await repo.files.pin(query), tag)
                except (LabelNotFound, Unavailable) as exc:
                    log.debug("%s cannot serve %s: %s", repo.name, application, exc.message)
        return self.default, _Pin(-1, self.default.uri, await self.default.files.pin(query))

    async def _candidates(
        self, index: int, spec: RepoSpec, query: Query, application: str
    ) -> list[tuple[Repository, str]]:
        fixed = self._fixed.get(index)
        if fixed is not None:
            if not spec.serves(application, query.profiles):
                return []
            if not fixed.started and (_recent(fixed.failed_at) or not await self._start(fixed)):
                return []
            return [(fixed, "")]
        out: list[tuple[Repository, str]] = []
        for uri, tag in _expansions(spec, query, application):
            clone = await self._clone(index, uri, tag)
            if clone is not None:
                out.append((clone, tag))
        return out

    async def _pinned(self, pin: _Pin) -> Repository:
        if pin.index < 0:
            return self.default
        fixed = self._fixed.get(pin.index)
        if fixed is not None:
            return fixed
        clone = await self._clone(pin.index, pin.uri, pin.tag)
        if clone is None:  # evicted since, and now failing
            raise Unavailable(f"Cannot clone {_display(pin.uri)} now")
        return clone

    async def _clone(self, index: int, uri: str, tag: str) -> Repository | None:
        """The started clone of an expanded URI (made now if needed), or None when it cannot be cloned."""
        clone = self._clones.get(uri)
        if clone is not None:
            self._clones.move_to_end(uri)
            return clone
        failed = self._failed.get(uri)
        if failed is not None and _recent(failed[0]):
            return None
        try:
            return await self._opening.do(uri, lambda: self._open_clone(index, uri, tag))
        except ConfigServerError:
            return None

    async def _open_clone(self, index: int, uri: str, tag: str) -> Repository:
        spec = self.specs[index]
        digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
        basedir = self._repos_dir / spec.name / digest
        closing = self._closing.get(uri)
        if closing is not None:  # its evicted clone is still being removed from the same directory
            await asyncio.gather(closing, return_exceptions=True)
        repo = self._repository(f"{self.name}:{spec.name}:{tag}", index, spec, uri, basedir)
        async with self._open_slots:
            try:  # the clone makes its own basedir 0700, but its parents with the umask's mode
                await asyncio.to_thread(make_private, basedir.parent)
            except OSError as exc:
                raise Unavailable(f"Cannot make {basedir.parent}: {exc.strerror or exc}") from None
            started = await self._start(repo)
        if not started:
            self._failed[uri] = (time.monotonic(), repo.error or "")
            while len(self._failed) > _FAILED_MEMORY:
                self._failed.popitem(last=False)
            await _discard(repo, started=False)
            raise Unavailable(repo.error or f"Cannot clone {_display(uri)}")
        self._failed.pop(uri, None)
        self._clones[uri] = repo
        while len(self._clones) > self._max_clones:
            old_uri, old = self._clones.popitem(last=False)
            log.info("closing the clone of %s (least used of %d)", old.git.display_uri, self._max_clones)
            task = asyncio.create_task(_discard(old, started=True), name=f"close {old.name}")
            self._closing[old_uri] = task
            task.add_done_callback(functools.partial(self._forget_closing, old_uri))
        return repo

    def _forget_closing(self, uri: str, task: asyncio.Task[None]) -> None:
        if self._closing.get(uri) is task:
            del self._closing[uri]

    async def _start(self, repo: Repository) -> bool:
        try:
            await repo.git.start()
        except ConfigServerError as exc:
            if repo.error != exc.message:
                log.warning("%s: %s", repo.name, exc.message)
            repo.error, repo.failed_at = exc.message, time.monotonic()
            return False
        repo.started, repo.error = True, None
        return True

    def _repository(self, name: str, index: int, spec: RepoSpec, uri: str, basedir: Path) -> Repository:
        assert spec.default_label is not None and spec.refresh_rate is not None  # resolved specs
        git = GitSource(
            uri=uri,
            basedir=basedir,
            default_label=spec.default_label,
            refresh_rate=spec.refresh_rate,
            access=spec.access,
            shallow=self._shallow,
            serve_unreachable=self._serve_unreachable,
            **self._git_flags,
        )
        plain = GitConfigSource(
            git=git,
            search_paths=spec.search_paths or (),
            cache_size=self._cache_size,
            reverse_location_order=self._reverse_locations,
            continue_on_label_failure=self._continue,
        )
        files: Source = plain if self._wrap is None else self._wrap(plain)  # --serve-last-good's guard
        repo = Repository(name=name, spec=spec, uri=uri, git=git, files=files, index=index)
        for listener in self._listeners:
            files.add_listener(listener)
        for scoped in self._scoped:
            files.add_listener(self._scoped_signal(repo, scoped))
        return repo

    async def _health(self, repo: Repository) -> SourceHealth:
        if not repo.started:
            return SourceHealth(
                name=repo.name,
                status="DOWN",
                details={"repository": _display(repo.uri), "last_error": repo.error},
                essential=False,
            )
        entry = await repo.files.health()
        return dataclasses.replace(entry, name=repo.name, essential=False)


def _expansions(spec: RepoSpec, query: Query, application: str) -> list[tuple[str, str]]:
    """A template's expanded URIs for ``query``, in the order tried (the last profile first),
    each with its tag (the placeholder values, naming its health entry); no duplicates."""
    assert spec.default_label is not None  # resolved specs
    labels = ",".join(label or spec.default_label for label in query.labels)
    out: list[tuple[str, str]] = []
    for profile in reversed(query.profiles):  # Spring tries the last profile first
        uri = expand(spec.uri, application=application, profile=profile, label=labels)
        if uri is None or any(u == uri for u, _ in out):
            continue
        values = {"{application}": application, "{profile}": profile, "{label}": labels}
        out.append((uri, ",".join(v for p, v in values.items() if p in spec.uri)))
    return out


async def _discard(repo: Repository, *, started: bool) -> None:
    """Close a template clone for good: its fetch loop, its askpass directory and its directory."""
    if started:
        await repo.git.close()  # (a failed start closed it already, askpass directory included)
    basedir = repo.git.repository.basedir
    if (basedir / MARKER).is_file():  # never a directory this server did not make (start refused it)
        await asyncio.to_thread(shutil.rmtree, basedir, True)
    repo.started = False


def _recent(failed_at: float | None) -> bool:
    """Whether a clone failed less than ``FAILED_CLONE_RETRY_S`` ago (so is not tried yet)."""
    return failed_at is not None and time.monotonic() - failed_at < FAILED_CLONE_RETRY_S


def _display(uri: str) -> str:
    return display_uri(uri)
