"""``Timings``: the state of one histogram (bucket counts, sum, count, failures), kept by whoever
times the operation, read by the metrics collector at scrape time.

Components record durations without knowing about Prometheus (and without a registry threaded
through their constructors); ``metrics.collector`` renders each snapshot as a histogram.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DEFAULT_BUCKETS", "Timings", "TimingsSnapshot"]

DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds in seconds (``+Inf`` is implied): milliseconds for cached answers up to a slow fetch."""


@dataclass(frozen=True, slots=True)
class TimingsSnapshot:
    """A consistent copy: ``buckets`` as ``(upper bound, cumulative count)``, the last one ``+Inf``."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    sum: float
    failures: int


class Timings:
    """Durations of one kind of operation, in seconds, and how many of them failed.

    Thread-safe (Vault calls finish in worker threads): every method holds one lock for a few
    additions. Failures are timed too (a fetch that times out took its time).
    """

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self._bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float, *, failed: bool = False) -> None:
        """Record one operation that took ``seconds`` (and whether it failed)."""
        index = bisect.bisect_left(self._bounds, seconds)  # a bound is inclusive (le)
        with self._lock:
            self._counts[index] += 1
            self._sum += seconds
            if failed:
                self._failures += 1

    @contextlib.contextmanager
    def timed(
        self, failing: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> Iterator[None]:
        """Observe how long the block takes: failed when it raises one of ``failing`` (which goes
        on); another exception (a cancellation) goes on unobserved."""
        started = time.monotonic()
        try:
            yield
        except failing:
            self.observe(time.monotonic() - started, failed=True)
            raise
        self.observe(time.monotonic() - started)

    def snapshot(self) -> TimingsSnapshot:
        """The state now, with cumulative bucket counts as Prometheus wants them."""
        with self._lock:
            counts, total, failures = list(self._counts), self._sum, self._failures
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self._bounds, float("inf")), counts, strict=True):
            running += n
            cumulative.append((bound, running))
        return TimingsSnapshot(tuple(cumulative), running, total, failures)
