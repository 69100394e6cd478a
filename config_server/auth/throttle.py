"""``FailureThrottle``: more than N failed authentications a minute from one address turn into 429.

Past the limit, every request from that address is refused with ``TooManyRequests`` (its
``Retry-After`` says when the oldest failure leaves the window) *before* its credentials are
checked, so a password guesser learns nothing more until then. Other addresses are unaffected.
The addresses tracked are bounded (least recently failed forgotten first).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from config_server.caching import LRU
from config_server.errors import TooManyRequests

__all__ = ["FailureThrottle"]


class FailureThrottle:
    """Counts failures per client address in a sliding window. Not thread-safe (event loop)."""

    def __init__(
        self,
        *,
        limit: int = 10,
        window: float = 60.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: LRU[str, deque[float]] = LRU(max_addresses)

    def check(self, address: str) -> None:
        """Raise ``TooManyRequests`` if ``address`` failed more than ``limit`` times in the window."""
        failures = self._recent(address)
        if failures is not None and len(failures) > self.limit:
            retry = failures[len(failures) - self.limit - 1] + self.window - self._clock()
            raise TooManyRequests("Too many failed authentication attempts", retry_after=retry)

    def failed(self, address: str) -> None:
        """Record one failed authentication from ``address``."""
        failures = self._recent(address)
        if failures is None:
            failures = deque()
        failures.append(self._clock())
        while len(failures) > self.limit + 1:  # enough to decide and to say when it ends
            failures.popleft()
        self._failures.put(address, failures)

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is not None:
            horizon = self._clock() - self.window
            while failures and failures[0] <= horizon:
                failures.popleft()
        return failures
