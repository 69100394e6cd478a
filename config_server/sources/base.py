"""The ``Source`` seam: what the environment service asks of every configuration backend.

A source answers a ``Query`` (applications, profiles, labels) with a ``Contribution``: its
property sources, highest precedence first, the version they come from, and whether they are a
stale answer. The service composes an ordered list of sources (list order is precedence) and owns
all caching around them, so a new backend (pattern or composite repositories) is one more class
here, and nothing in the service changes.

Caching contract. ``pin(query)`` runs on every request and must be cheap: it names the immutable
content the query would read (git: the commit ids of its labels), or is ``None`` when the source
must be read on every request (Vault: secrets change with no event, and each caller's token may
see different ones). The service caches a pinned source's contribution per (pin, applications,
profiles), and whole responses only when every source is pinned. A pinned read is shared by all
callers, so it is given no token; an unpinned read gets the caller's ``X-Config-Token``.

Change signal, two forms: a source that learns of changes (git fetches) calls its listeners; a
source that cannot (Vault KV) has a ``poll_interval`` and says, when polled with the queries
being watched, which of them may have moved. A source made of many parts (git with pattern
repositories) may also implement ``ScopedChanges``: each signal then carries an ``Affects``
predicate, so a fetch of one repository recomputes only the watched queries it can move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from config_client.wire import PropertySource

if TYPE_CHECKING:
    from config_server.names import EnvRequest

__all__ = [
    "Affects",
    "ChangeListener",
    "Contribution",
    "Detail",
    "Query",
    "ScopedChanges",
    "ScopedListener",
    "Source",
    "SourceHealth",
    "source_healths",
]


@dataclass(frozen=True, slots=True)
class Query:
    """What a request asks of a source (hashable: used in cache keys and poll answers)."""

    applications: tuple[str, ...]
    profiles: tuple[str, ...]
    labels: tuple[str | None, ...] = (None,)  # comma labels split, in request order; None: default

    @classmethod
    def of(cls, req: EnvRequest) -> Query:
        return cls(req.applications, req.profiles, req.labels)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One source's answer to a query: ``sources`` highest precedence first."""

    sources: tuple[PropertySource, ...]
    version: str | None = None  # e.g. the commit ids; None for an unversioned backend
    stale: bool = False  # served from the last good read while the backend is unavailable
    warnings: tuple[str, ...] = ()  # RFC 7234 warning values for the response (last good commit served)


Detail = str | int | float | bool | datetime | None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's entry in ``/actuator/health`` (rendered there: names camelCased, times ISO).

    ``essential``: without this source nothing can be served, so it being DOWN makes the server
    DOWN (503); a non-essential source DOWN or DEGRADED makes it DEGRADED (200).
    """

    name: str
    status: Literal["UP", "DEGRADED", "DOWN"]
    details: Mapping[str, Detail] = field(default_factory=dict)
    essential: bool = True


ChangeListener = Callable[[], Awaitable[None] | None]
"""Called (sync or async) when a source's content may have moved; errors are the source's to log."""

Affects = Callable[[Query], Awaitable[bool]]
"""The scope of one change: whether it may have moved what ``query`` reads. Errs towards True
(a query it cannot judge is affected); may do what a read's ``pin`` does, never more."""

ScopedListener = Callable[[Affects], Awaitable[None] | None]
"""A ``ChangeListener`` told which queries the change may have moved."""


@runtime_checkable
class ScopedChanges(Protocol):
    """A source whose change signals can be scoped (git with pattern repositories)."""

    def add_scoped_listener(self, listener: ScopedListener) -> None:
        """Call ``listener(affects)`` whenever some part of this source may have moved, with
        ``affects`` saying which queries that part serves. Replaces ``add_listener`` for a
        caller that can use the scope (the caller registers one or the other, not both)."""
        ...


class Source(Protocol):
    """A configuration backend behind the async seam (blocking clients run in executors)."""

    @property
    def name(self) -> str:
        """A short name, unique among the server's sources (its health entry: ``git``, ``vault``)."""
        ...

    @property
    def poll_interval(self) -> float:
        """Seconds between ``poll()`` calls while someone watches; 0: never polled."""
        ...

    async def pin(self, query: Query) -> Hashable | None:
        """An id of the immutable content ``query`` reads, or None: read on every request.

        Raises as ``read`` does for a query it can already judge (an unknown label).
        """
        ...

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None) -> Contribution:
        """The property sources for ``query`` at ``pin`` (what ``pin(query)`` returned).

        Raises ``config_server.errors`` only: ``LabelNotFound``, ``InvalidConfiguration``,
        ``Unavailable``, ``Forbidden``, ``InvalidRequest``.
        """
        ...

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        """A plain-text resource's bytes and the path it was found at; None if not served here."""
        ...

    async def health(self) -> SourceHealth:
        """This source's health entry; never raises."""
        ...

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener()`` whenever this source's content may have moved (if it ever learns)."""
        ...

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        """Of the watched ``queries``, those whose content may have moved since the last poll."""
        ...


async def source_healths(source: Source) -> list[SourceHealth]:
    """Every health entry of ``source``: its ``healths()`` when it has several (git with pattern
    repositories: one per repository), else its one ``health()``."""
    many = getattr(source, "healths", None)
    if many is not None:
        entries: list[SourceHealth] = await many()
        return entries
    return [await source.health()]
