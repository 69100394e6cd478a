"""``Fleet``: which instances hold which ETag, bounded, with a window; ``parse_client_id``."""

from __future__ import annotations

import pytest

from config_server.live.fleet import MAX_CLIENT_ID, MAX_USER_AGENT, Fleet, Sighting, parse_client_id


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sighting(client_id: str | None = "host:1", *, address: str = "10.0.0.1", agent: str = "ua") -> Sighting:
    return Sighting.of(
        application="orders",
        profiles="prod",
        label=None,
        client_id=client_id,
        principal="user:orders",
        address=address,
        user_agent=agent,
    )


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("host:42", "host:42"),
        ("  host:42 ", "host:42"),
        (None, None),
        ("", None),
        ("x" * (MAX_CLIENT_ID + 1), None),
        ("bad\x01id", None),
        ("bad\x7fid", None),
        ("héllo", None),
        ("line\nbreak", None),
    ],
)
def test_a_client_id_is_kept_only_when_valid(raw: str | None, parsed: str | None) -> None:
    """Bounded, printable ASCII ids are kept; anything else is ignored."""
    assert parse_client_id(raw) == parsed


def test_a_user_agent_is_truncated_and_made_printable() -> None:
    """A long user agent with control characters is stored cut and with ``?`` for them."""
    seen = sighting(agent="a\x00b" + "z" * 1000)
    assert seen.user_agent is not None
    assert len(seen.user_agent) == MAX_USER_AGENT and seen.user_agent.startswith("a?bz")


def test_since_is_when_the_etag_was_first_held() -> None:
    """Seeing the same ETag again moves last_seen, not since; a new ETag moves both."""
    clock = Clock()
    fleet = Fleet(clock=clock)
    fleet.seen(sighting(), '"e1"', "c1")
    clock.now += 10
    fleet.seen(sighting(), '"e1"', "c1")
    [one] = fleet.instances()
    assert (one.since, one.last_seen) == (clock.now - 10, clock.now)
    clock.now += 5
    fleet.seen(sighting(), '"e2"', "c2")
    [one] = fleet.instances()
    assert (one.etag, one.version, one.since) == ('"e2"', "c2", clock.now)


def test_without_an_id_an_instance_is_its_principal_address_and_agent() -> None:
    """Two id-less callers that differ only by address are two instances; the same one is one."""
    fleet = Fleet()
    fleet.seen(sighting(None, address="10.0.0.1"), '"e"', "c")
    fleet.seen(sighting(None, address="10.0.0.2"), '"e"', "c")
    fleet.seen(sighting(None, address="10.0.0.1"), '"e"', "c")
    assert len(fleet.instances()) == 2


def test_an_instance_not_seen_within_the_window_is_forgotten() -> None:
    """Seen 301 s ago and not polling: no longer listed."""
    clock = Clock()
    fleet = Fleet(clock=clock)
    fleet.seen(sighting(), '"e"', "c")
    clock.now += 301
    assert fleet.instances() == [] and len(fleet) == 0


def test_an_instance_holding_a_long_poll_stays_listed() -> None:
    """However long ago its poll began, an instance polling now is listed, marked polling."""
    clock = Clock()
    fleet = Fleet(clock=clock)
    with fleet.polling(sighting(), '"e"', "c"):
        clock.now += 1000
        [one] = fleet.instances()
        assert one.polling
    [one] = fleet.instances()
    assert not one.polling and one.last_seen == clock.now


def test_the_cap_drops_the_least_recently_seen_and_counts_it() -> None:
    """Past the capacity the instance seen longest ago goes, and ``dropped`` counts it."""
    fleet = Fleet(capacity=2)
    fleet.seen(sighting("a"), '"e"', "c")
    fleet.seen(sighting("b"), '"e"', "c")
    fleet.seen(sighting("a"), '"e"', "c")  # a is now the most recent
    fleet.seen(sighting("c"), '"e"', "c")
    assert {i.client_id for i in fleet.instances()} == {"a", "c"}
    assert fleet.dropped == 1
