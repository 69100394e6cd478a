"""``MemorySource``: a tiny in-memory ``Source``, for tests of the seam (not of any backend).

Values live in a dict ``{application: {key: value}}``; each requested application that has values
becomes one ``PropertySource("<name>:<application>")``, the last application first (as Spring's
backends order them). ``pinned`` sources pin to their generation, which ``set`` bumps (and tells
the listeners); unpinned ones are read on every request. Reads and the tokens they got are
recorded for assertions.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Hashable
from typing import Any

from config_client.wire import PropertySource, PropertyValue

from config_server.sources.base import ChangeListener, Contribution, Query, SourceHealth


class MemorySource:
    """A ``Source`` over a dict, counting its reads."""

    def __init__(
        self,
        name: str = "memory",
        values: dict[str, dict[str, Any]] | None = None,
        *,
        pinned: bool = True,
        version: str | None = None,
        stale: bool = False,
        resources: dict[str, bytes] | None = None,
        poll_interval: float = 0.0,
    ) -> None:
        self.name = name
        self.values = dict(values or {})
        self.pinned = pinned
        self.version = version
        self.stale = stale
        self.resources = dict(resources or {})
        self.poll_interval = poll_interval
        self.generation = 0
        self.reads: list[tuple[Query, str | None]] = []
        self.status: str = "UP"
        self._listeners: list[ChangeListener] = []
        self._polled = 0

    async def set(self, application: str, values: dict[str, Any]) -> None:
        """Change one application's values and tell the listeners."""
        self.values[application] = values
        self.generation += 1
        for listener in self._listeners:
            result = listener()
            if inspect.isawaitable(result):
                await result

    async def pin(self, query: Query) -> Hashable | None:
        return ("memory", self.generation) if self.pinned else None

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None) -> Contribution:
        self.reads.append((query, token))
        sources = tuple(
            PropertySource(f"{self.name}:{app}", {k: PropertyValue(v) for k, v in self.values[app].items()})
            for app in reversed(query.applications)
            if self.values.get(app)
        )
        return Contribution(sources, version=self.version, stale=self.stale)

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        data = self.resources.get(path)
        return None if data is None else (data, path)

    async def health(self) -> SourceHealth:
        return SourceHealth(self.name, "UP" if self.status == "UP" else "DOWN", {"reads": len(self.reads)})

    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        """Every watched query whose values changed since the last poll (by generation)."""
        moved = self.generation != self._polled
        self._polled = self.generation
        return set(queries) if moved else set()
