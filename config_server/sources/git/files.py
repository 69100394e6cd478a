"""``GitConfigSource``: the ``Source`` of configuration files in one git repository.

Spring's file rules (reference §3.1, §6.5) over a ``GitSource``: config names and profiles give
candidate files in each search location, the files found are parsed (cached by blob id) and
assembled by ``config_server.resolve``. Comma labels read each label's files, the last label's
first; with ``continue_on_label_failure`` (Spring's ``continue-on-multiple-label-failure``) a
label of several that cannot be read is left out instead of failing the request. A query is
pinned to the commit ids of its labels (and the label names, when a search path uses
``{label}``), so the service caches its answer per commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection, Hashable, Sequence
from dataclasses import dataclass

from config_client.wire import PropertySource

from config_server import resolve
from config_server.caching import LRU
from config_server.errors import ConfigServerError, InvalidConfiguration
from config_server.formats import parse_document_file
from config_server.formats.documents import Document
from config_server.sources.base import ChangeListener, Contribution, Query, SourceHealth
from config_server.sources.git.source import GitSource, Moved, Tree

__all__ = ["GitConfigSource"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Pin:
    commits: tuple[str | None, ...]  # None: a label left out (continue_on_label_failure)
    labels: tuple[str, ...] | None  # only when a search path names {label}


class GitConfigSource:
    """Configuration files found by ``search_paths`` in a started ``GitSource``.

    ``cache_size`` bounds the parsed documents kept (``8 * cache_size`` files).
    ``reverse_location_order`` makes plain-text resources look in the search paths last first and
    the root last (Spring's ``reverse-location-order``; environments are not affected). Use from
    one event loop; the ``GitSource`` is opened and closed by its owner.
    """

    name = "git"
    poll_interval = 0.0  # fetches call the listeners

    def __init__(
        self,
        *,
        git: GitSource,
        search_paths: Sequence[str] = (),
        cache_size: int = 2048,
        reverse_location_order: bool = False,
        continue_on_label_failure: bool = False,
    ) -> None:
        """``continue_on_label_failure``: with comma labels, one that cannot be resolved or read
        is left out (logged) instead of failing the request, as Spring's
        ``continue-on-multiple-label-failure``; a single label still fails."""
        self.git = git
        self.reverse_location_order = reverse_location_order
        self.continue_on_label_failure = continue_on_label_failure
        self.search_paths = tuple(search_paths)
        self._label_paths = any("{label}" in path for path in self.search_paths)
        self._docs: LRU[tuple[str, str], list[Document] | InvalidConfiguration] = LRU(cache_size * 8)

    async def pin(self, query: Query) -> Hashable:
        """The commits of the query's labels, from the last fetch. Raises ``LabelNotFound``."""
        return self.pin_at(query, [await self.resolve_label(query, label) for label in query.labels])

    async def resolve_label(self, query: Query, label: str | None) -> str | None:
        """The commit of one of the query's labels; None when it fails and may be left out
        (``continue_on_label_failure`` with several labels). Raises as ``GitSource.resolve``."""
        try:
            return await self.git.resolve(label)
        except ConfigServerError as exc:
            if not self.skips_failures(query):
                raise
            _log.warning("leaving out label %s of %s: %s", label, ",".join(query.applications), exc.message)
            return None

    def skips_failures(self, query: Query) -> bool:
        """Whether a failing label of ``query`` is left out rather than failing the request."""
        return self.continue_on_label_failure and len(query.labels) > 1

    def pin_at(self, query: Query, commits: Sequence[str | None]) -> Hashable:
        """The pin of ``query`` with its labels at ``commits`` (one full id per label, in order,
        None for a label left out), e.g. an older commit of a label's history. No I/O."""
        if len(commits) != len(query.labels):
            raise ValueError("pin_at needs one commit per label")
        # Two labels at one commit share their sources, unless a search path names {label}.
        labels = tuple(self.git.label_name(lab) for lab in query.labels) if self._label_paths else None
        return _Pin(tuple(commits), labels)

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None = None) -> Contribution:
        """The files' property sources at the pinned commits; ``version`` is their ids, comma-joined."""
        if not isinstance(pin, _Pin):
            pin = await self.pin(query)
            assert isinstance(pin, _Pin)
        sources: list[PropertySource] = []
        # Comma labels: each label's sources appended, last label first (reference §6.5).
        read: list[str] = []  # the commits read, last label first (a failing one is left out)
        for label, commit in reversed(list(zip(query.labels, pin.commits, strict=True))):
            if commit is None:
                continue
            try:
                sources.extend(await self._files(query, label, commit))
            except ConfigServerError as exc:
                if not self.skips_failures(query):
                    raise
                _log.warning(
                    "leaving out label %s of %s: %s", label, ",".join(query.applications), exc.message
                )
                continue
            read.append(commit)
        return Contribution(tuple(sources), version=",".join(reversed(read)))

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        """The first candidate of ``path`` (profile variants first) in the search locations."""
        label = query.labels[0]
        tree = await self.git.tree(await self.git.resolve(label))
        locations = self._locations(query, label, tree)
        if self.reverse_location_order:
            locations.reverse()
        for candidate in resolve.resource_candidates(path, query.profiles, locations):
            blob = tree.files.get(candidate)
            if blob is not None:
                return await self.git.read_blob(blob), candidate
        return None

    async def health(self) -> SourceHealth:
        """UP while there is fetched data to serve, even with the remote unreachable.

        A damaged clone being rebuilt is DOWN but not essential (the server reports DEGRADED and
        keeps serving what it has in memory); details name why (``clone``) and the disk.
        """
        status = self.git.status
        age = status.age_seconds()
        disk = status.disk
        return SourceHealth(
            name=self.name,
            status="UP" if self.git.has_data and status.broken is None else "DOWN",
            details={
                "repository": self.git.display_uri,
                "last_successful_fetch": status.last_success,
                "age_seconds": None if age is None else round(age, 1),
                "last_attempt": status.last_attempt,
                "last_error": status.last_error,
                "clone": "ok" if status.broken is None else f"rebuilding: {status.broken}",
                "disk_free_bytes": None if disk is None else disk.free_bytes,
                "low_disk": None if disk is None else disk.low,
            },
            essential=status.broken is None or not self.git.has_data,
        )

    def add_listener(self, listener: ChangeListener) -> None:
        """``listener()`` after every fetch that moved refs."""

        def moved(_moved: Moved) -> Awaitable[None] | None:
            return listener()

        self.git.add_listener(moved)

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        return set()  # never polled: fetches call the listeners

    async def _documents(self, tree: Tree, path: str) -> list[Document]:
        # Cached by blob id, errors too: a blob never changes.
        blob = tree.files[path]
        key = (blob, path)
        found = self._docs.get(key)
        if found is None:
            data = await self.git.read_blob(blob)
            try:
                found = await asyncio.to_thread(parse_document_file, path, data)
            except InvalidConfiguration as exc:
                found = exc
            self._docs.put(key, found)
        if isinstance(found, InvalidConfiguration):
            raise found
        return found

    async def _files(self, query: Query, label: str | None, commit: str) -> list[PropertySource]:
        tree = await self.git.tree(commit)
        present = tree.files.keys()
        names = resolve.config_names(query.applications)
        locations = self._locations(query, label, tree)
        documents: dict[str, list[Document]] = {}
        while (
            step := resolve.environment(
                names, query.profiles, locations, documents=documents, present=present
            )
        ).needed:
            for path in step.needed:
                documents[path] = await self._documents(tree, path)
        return resolve.assemble(
            step.ordered,
            documents,
            profiles=step.profiles,
            uri=self.git.display_uri,
            names=names,
            present=present,
        )

    def _locations(self, query: Query, label: str | None, tree: Tree) -> list[str]:
        return resolve.search_locations(
            self.search_paths,
            applications=query.applications,
            profiles=query.profiles,
            label=self.git.label_name(label),
            dirs=tree.dirs,
        )
