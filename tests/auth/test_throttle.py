"""``FailureThrottle``: more than ten failed authentications a minute from one address become 429."""

from __future__ import annotations

import pytest

from config_server.auth.throttle import FailureThrottle
from config_server.errors import TooManyRequests
from tests.auth.conftest import FakeClock

ADDRESS = "10.0.0.7"


def throttle_after(failures: int, clock: FakeClock, *, every: float = 1.0) -> FailureThrottle:
    """A throttle that saw ``failures`` failures from ADDRESS, one every ``every`` seconds."""
    throttle = FailureThrottle(limit=10, window=60.0, clock=clock)
    for _ in range(failures):
        throttle.failed(ADDRESS)
        clock.advance(every)
    return throttle


def test_ten_failures_still_let_the_address_try() -> None:
    """Ten failures in the window are within the limit: the next attempt is checked."""
    throttle_after(10, FakeClock()).check(ADDRESS)


def test_the_eleventh_failure_blocks_the_address() -> None:
    """More than ten failures in the window: every attempt is refused before its credentials."""
    throttle = throttle_after(11, FakeClock())
    with pytest.raises(TooManyRequests):
        throttle.check(ADDRESS)


def test_retry_after_is_when_the_oldest_counted_failure_leaves_the_window() -> None:
    """Failures at t=0..10 s, asked at t=11 s: the one at t=0 leaves at t=60, so Retry-After is 49."""
    throttle = throttle_after(11, FakeClock())
    with pytest.raises(TooManyRequests) as caught:
        throttle.check(ADDRESS)
    assert caught.value.headers["Retry-After"] == "49"


def test_another_address_is_not_affected() -> None:
    """A blocked address does not block its neighbours."""
    throttle = throttle_after(11, FakeClock())
    throttle.check("10.0.0.8")


def test_the_window_slides() -> None:
    """Once the oldest failure is a minute old the address may try again."""
    clock = FakeClock()
    throttle = throttle_after(11, clock)
    clock.advance(49.0)  # the first failure (t=0) is now 60 s old
    throttle.check(ADDRESS)


def test_failures_spread_over_more_than_a_minute_never_block() -> None:
    """One failure every seven seconds stays under eleven a minute, however long it goes on."""
    clock = FakeClock()
    throttle = throttle_after(50, clock, every=7.0)
    throttle.check(ADDRESS)
