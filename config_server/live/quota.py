"""``WatchQuota``: how many long polls may be held at once, in all and per principal.

A held long poll costs a connection, a task and a share of every recomputation; without a cap
one client (or a leaked loop in one) could hold thousands. Past either cap a new long poll is
refused with ``TooManyRequests`` (429, ``Retry-After``) and the caller's held ones go on.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from config_server.errors import TooManyRequests

__all__ = ["WatchQuota"]

_RETRY_AFTER_S = 5.0


class WatchQuota:
    """Counts held long polls; ``total`` and ``per_holder`` of 0 mean no limit. Event loop only."""

    def __init__(self, *, total: int, per_holder: int) -> None:
        self.total = total
        self.per_holder = per_holder
        self._held: Counter[str] = Counter()
        self._count = 0

    @property
    def held(self) -> int:
        """Long polls held now."""
        return self._count

    def held_by(self, holder: str) -> int:
        """Long polls ``holder`` holds now."""
        return self._held[holder]

    @contextlib.contextmanager
    def hold(self, holder: str | None) -> Iterator[None]:
        """Count one long poll of ``holder`` (None: in the total only) while the block runs.

        Raises ``TooManyRequests`` past either cap.
        """
        if self.total and self._count >= self.total:
            raise TooManyRequests("Too many long polls held by the server", retry_after=_RETRY_AFTER_S)
        if holder is not None and self.per_holder and self._held[holder] >= self.per_holder:
            raise TooManyRequests(
                f"Too many long polls held by one caller (at most {self.per_holder})",
                retry_after=_RETRY_AFTER_S,
            )
        self._count += 1
        if holder is not None:
            self._held[holder] += 1
        try:
            yield
        finally:
            self._count -= 1
            if holder is not None:
                self._held[holder] -= 1
                if not self._held[holder]:
                    del self._held[holder]
