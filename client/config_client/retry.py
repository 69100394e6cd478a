"""Exponential backoff with full jitter, and the switch that takes the waiting out of tests."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "is_testing", "set_testing"]

_testing = False


def set_testing(enabled: bool) -> None:
    """Make every backoff delay zero (and polling spacing tiny) so tests never sleep for real.

    Process-wide, like ``stamina.set_testing``; turn it off again when the test is done.
    """
    global _testing
    _testing = enabled


def is_testing() -> bool:
    """Whether :func:`set_testing` is on."""
    return _testing


# 1.5 ** 60 is already ~3e10 seconds; larger exponents would only overflow.
_MAX_EXPONENT = 60


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry timing: attempt ``n`` waits uniformly in ``[0, min(max_interval, initial * multiplier**(n-1))]``.

    Full jitter (rather than equal or no jitter) spreads a fleet of clients that lost the server
    at the same moment, so they do not come back in lock-step. Units are seconds.
    """

    initial: float = 1.0
    multiplier: float = 1.5
    max_interval: float = 30.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.initial < 0 or self.max_interval < 0:
            raise ValueError("retry intervals must not be negative")
        if self.multiplier < 1:
            raise ValueError("retry_multiplier must be at least 1")
        if self.max_attempts < 1:
            raise ValueError("retry_max_attempts must be at least 1")

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return float(min(self.max_interval, self.initial * self.multiplier**exponent))

    def delay(self, attempt: int) -> float:
        """A jittered delay after failed attempt ``attempt``; zero while testing."""
        if _testing:
            return 0.0
        return random.uniform(0.0, self.ceiling(attempt))
