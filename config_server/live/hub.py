"""Long-poll change notification: clients wait on an environment until its etag changes.

The HTTP layer (not here) answers ``GET /{app}/{profiles}/{label}`` with ``If-None-Match`` and
``Prefer: wait=N`` by calling :meth:`WatchHub.wait`; whoever detects a new commit calls
:meth:`WatchHub.publish`. (``http.headers.parse_prefer_wait`` reads the RFC 7240 header.)

Cost model: a watcher is its suspended coroutine plus one private future and one timer (a few
hundred bytes); a key is one set of those futures. Publishing walks one key's set once. A
watcher that leaves (timeout, disconnect) removes itself in O(1): callbacks registered on one
future shared by all watchers would make 10,000 disconnects on one key cost O(n²), seconds of
blocked event loop, which is why watchers do not each subscribe to a shared future.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Hashable

__all__ = ["WatchHub"]


class WatchHub:
    """Holds idle watchers keyed by an environment key (any hashable).

    Memory per watcher is one waiting coroutine and its private future; per key one set of
    those futures, so a change is published once per key (one pass over its watchers), not
    once per watcher. A key's bookkeeping is dropped when its last watcher leaves; its current
    etag is kept so a later :meth:`wait` can answer at once. Thread: event-loop only.
    """

    def __init__(self, *, max_wait: float = 120.0) -> None:
        """``max_wait``: the longest any :meth:`wait` may last, in seconds (positive, finite)."""
        if not (0 < max_wait < math.inf):
            raise ValueError(f"max_wait must be a positive number of seconds, not {max_wait!r}")
        self._max_wait = max_wait
        self._etags: dict[Hashable, str] = {}
        self._waiting: dict[Hashable, set[asyncio.Future[str | None]]] = {}
        self._total = 0
        self._closed = False
        self.notified = 0
        """How many watchers a publish has woken with a new etag, ever (metrics)."""

    @property
    def max_wait(self) -> float:
        """The cap on any single wait, in seconds."""
        return self._max_wait

    async def wait(self, key: Hashable, etag: str, timeout: float) -> str | None:
        """Wait until ``key``'s etag differs from ``etag``; return the new etag, or None on timeout.

        Returns at once when the current etag is known and already differs. An etag never
        published is unknown: the call waits for a first :meth:`publish`, and a publish of the
        caller's own etag does not wake it. ``timeout`` is in seconds, capped at ``max_wait``;
        zero, negative or NaN means do not wait. Returns None after :meth:`close`.

        Cancellation-safe: a cancelled waiter (client gone) leaves no trace and does not
        disturb the other watchers of its key.
        """
        if self._closed:
            return None
        current = self._etags.get(key)
        if current is not None and current != etag:
            return current
        if not timeout > 0:  # also catches NaN
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self._max_wait)
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = set()
        self._total += 1
        try:
            while True:
                # A private future: cancelling this watcher cancels only it, never its peers.
                waiter: asyncio.Future[str | None] = loop.create_future()
                waiting.add(waiter)
                timer = loop.call_at(deadline, _expire, waiter)
                try:
                    new = await waiter
                finally:
                    timer.cancel()
                    waiting.discard(waiter)
                if new != etag:  # a new etag, or None for timeout and close
                    return new
                # The key was unknown and became exactly what this client has: keep waiting.
        finally:
            self._total -= 1
            if not waiting:
                del self._waiting[key]

    def publish(self, key: Hashable, etag: str) -> bool:
        """Record ``etag`` as ``key``'s current one; wake its watchers if it changed.

        Returns True when the etag changed (watchers, if any, were woken), False when it was
        already current (nobody is woken).
        """
        if self._etags.get(key) == etag:
            return False
        self._etags[key] = etag
        for waiter in self._waiting.get(key, ()):
            if not waiter.done():
                waiter.set_result(etag)
                self.notified += 1
        return True

    def forget(self, key: Hashable) -> None:
        """Drop the remembered ETag of ``key`` if nobody watches it, so memory stays bounded by
        the keys being watched rather than every key ever published."""
        if key not in self._waiting:
            self._etags.pop(key, None)

    def current(self, key: Hashable) -> str | None:
        """The last etag published for ``key``, or None if none was."""
        return self._etags.get(key)

    def watched_keys(self) -> list[Hashable]:
        """Keys with at least one watcher, in the order they were first watched."""
        return list(self._waiting)

    def watcher_count(self, key: Hashable | None = None) -> int:
        """How many watchers wait on ``key``, or on all keys when ``key`` is None."""
        return self._total if key is None else len(self._waiting.get(key, ()))

    def close(self) -> None:
        """Wake every watcher with None and make later waits return None at once (shutdown)."""
        self._closed = True
        for waiting in self._waiting.values():
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)


def _expire(waiter: asyncio.Future[str | None]) -> None:
    """Timer callback: the watcher's time is up."""
    if not waiter.done():
        waiter.set_result(None)
