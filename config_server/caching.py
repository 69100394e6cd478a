"""The one bounded LRU map and the one single-flight helper, shared by the service and the sources.

- ``LRU``: least-recently-used map bounded by its number of entries and, optionally, by a total
  weight (bytes, paths) and an age (``ttl`` seconds after the ``put``). Values are never ``None``
  (``get`` answers ``None`` for a miss). Not thread-safe: use it from one event loop, or hold a
  lock around it (the Vault manager does, its callers' clients are made in worker threads).
- ``SingleFlight``: concurrent calls with the same key share one running computation; a caller
  that goes away never cancels the work the others wait for.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["LRU", "SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A least-recently-used map with at most ``max_entries`` entries.

    ``max_weight`` (with ``weigh``) also bounds the sum of the values' weights: a value heavier
    than the whole budget is refused (not stored, and any older value under its key dropped), so
    one huge item can never flush the cache. ``ttl`` (seconds, by ``clock``) makes an entry
    expire that long after it was put; an expired entry is a miss and is dropped.
    """

    def __init__(
        self,
        max_entries: int,
        *,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (max_weight is None) != (weigh is None):
            raise ValueError("max_weight and weigh go together")
        self._max_entries = max(1, max_entries)
        self._max_weight = max_weight
        self._weigh = weigh
        self._ttl = ttl
        self._clock = clock
        self._items: OrderedDict[K, tuple[V, int, float]] = OrderedDict()  # value, weight, put at
        self._weight = 0
        self.hits = 0
        """How many ``get`` calls found a live entry (metrics; reset never)."""
        self.misses = 0
        """How many ``get`` calls found nothing (or an expired entry)."""

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or None: missing or expired."""
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        if self._ttl is not None and self._clock() - item[2] > self._ttl:
            self._drop(key)
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` as the most recently used, evicting the least used."""
        weight = 0 if self._weigh is None else self._weigh(value)
        self._drop(key)
        if self._max_weight is not None and weight > self._max_weight:
            return
        self._items[key] = (value, weight, self._clock())
        self._weight += weight
        while len(self._items) > self._max_entries or (
            self._max_weight is not None and self._weight > self._max_weight
        ):
            _, (_, dropped, _) = self._items.popitem(last=False)
            self._weight -= dropped

    def values(self) -> list[V]:
        """Every value held, expired or not, least recently used first (e.g. to close them)."""
        return [value for value, _, _ in self._items.values()]

    def clear(self) -> None:
        self._items.clear()
        self._weight = 0

    @property
    def weight(self) -> int:
        """The total weight held (0 without ``weigh``)."""
        return self._weight

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def _drop(self, key: K) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._weight -= item[1]


class SingleFlight(Generic[K, V]):
    """Concurrent calls with the same key share one running computation.

    The computation runs as its own task (or executor future) and callers await it shielded, so
    a caller that goes away (a client disconnecting cancels its handler) never cancels the work
    the others wait for. Once it finishes the key is free again: nothing is cached here.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    async def do(self, key: K, fn: Callable[[], Awaitable[V]]) -> V:
        """``await fn()``, or join the run of it already under way for ``key``."""
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(fn())
            self._running[key] = future
            future.add_done_callback(lambda f: self._finished(key, f))
        return await asyncio.shield(future)

    def __len__(self) -> int:
        return len(self._running)

    def _finished(self, key: K, future: asyncio.Future[V]) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        if not future.cancelled():
            future.exception()  # retrieved here: every waiter re-raises it itself
