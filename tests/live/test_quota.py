"""``WatchQuota``: a cap on long polls held at once, in all and per principal."""

from __future__ import annotations

import contextlib

import pytest

from config_server.errors import TooManyRequests
from config_server.live.quota import WatchQuota


def test_a_holder_past_its_cap_is_refused_with_retry_after() -> None:
    """The third poll of a holder capped at two is 429 with Retry-After; another holder still gets one."""
    quota = WatchQuota(total=0, per_holder=2)
    with quota.hold("user:a"), quota.hold("user:a"):
        with pytest.raises(TooManyRequests) as caught, quota.hold("user:a"):
            pass
        assert int(caught.value.headers["Retry-After"]) >= 1
        with quota.hold("user:b"):
            assert (quota.held, quota.held_by("user:b")) == (3, 1)


def test_the_total_cap_refuses_every_holder() -> None:
    """At the server-wide cap a holder with none held is refused too."""
    quota = WatchQuota(total=2, per_holder=0)
    with quota.hold("user:a"), quota.hold("user:b"), pytest.raises(TooManyRequests), quota.hold("user:c"):
        pass


def test_a_released_poll_frees_its_place() -> None:
    """Leaving the block (normally or by an error) gives the place back."""
    quota = WatchQuota(total=1, per_holder=1)
    with contextlib.suppress(RuntimeError), quota.hold("user:a"):
        raise RuntimeError("the poll failed")
    assert (quota.held, quota.held_by("user:a")) == (0, 0)
    with quota.hold("user:a"):
        assert quota.held == 1


def test_a_refused_poll_takes_no_place() -> None:
    """A 429 does not count as held."""
    quota = WatchQuota(total=0, per_holder=1)
    with quota.hold("user:a"):
        with contextlib.suppress(TooManyRequests), quota.hold("user:a"):
            pass
        assert quota.held_by("user:a") == 1


def test_zero_means_no_limit() -> None:
    """total=0 and per_holder=0 hold any number."""
    quota = WatchQuota(total=0, per_holder=0)
    with contextlib.ExitStack() as stack:
        for _ in range(1000):
            stack.enter_context(quota.hold("user:a"))
        assert quota.held == 1000
