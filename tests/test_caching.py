"""The one LRU and the one single flight (config_server.caching)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config_server.caching import LRU, SingleFlight


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_entry_is_evicted_first() -> None:
    """Over ``max_entries``, the entry used longest ago goes; a ``get`` counts as a use."""
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)


def test_put_replaces_the_value_under_a_key() -> None:
    """A second put under a key replaces the value (and its weight)."""
    lru: LRU[str, bytes] = LRU(4, max_weight=10, weigh=len)
    lru.put("a", b"12345")
    lru.put("a", b"12")
    assert lru.get("a") == b"12" and lru.weight == 2 and len(lru) == 1


@pytest.mark.parametrize(
    ("puts", "kept"),
    [
        ([("a", b"1234"), ("b", b"1234")], ["a", "b"]),
        ([("a", b"1234"), ("b", b"1234"), ("c", b"1234")], ["b", "c"]),  # 12 > 10: a goes
        ([("a", b"12"), ("big", b"12345678901")], ["a"]),  # heavier than the budget: refused
        ([("a", b"1234567890")], ["a"]),  # exactly the budget fits
    ],
)
def test_weight_bounds_the_total(puts: list[tuple[str, bytes]], kept: list[str]) -> None:
    """Values are evicted oldest first until the weights fit; an over-heavy value is refused."""
    lru: LRU[str, bytes] = LRU(100, max_weight=10, weigh=len)
    for key, value in puts:
        lru.put(key, value)
    assert [key for key, _ in puts if lru.get(key) is not None] == kept


def test_an_over_heavy_value_drops_the_old_value_of_its_key() -> None:
    """Refusing a value never leaves an out-of-date one under its key."""
    lru: LRU[str, bytes] = LRU(4, max_weight=4, weigh=len)
    lru.put("a", b"1")
    lru.put("a", b"12345")
    assert lru.get("a") is None and lru.weight == 0


def test_entries_expire_ttl_seconds_after_their_put() -> None:
    """With ``ttl`` an entry is a miss (and dropped) once older than ttl; a get does not renew it."""
    clock = Clock()
    lru: LRU[str, int] = LRU(4, ttl=10, clock=clock)
    lru.put("a", 1)
    clock.now = 10
    assert lru.get("a") == 1
    clock.now = 10.5
    assert lru.get("a") is None and "a" not in lru


def test_weigh_without_max_weight_is_a_mistake() -> None:
    """``max_weight`` and ``weigh`` go together."""
    with pytest.raises(ValueError):
        LRU(4, weigh=len)


@given(
    st.integers(1, 5),
    st.lists(st.tuples(st.sampled_from("abcdefg"), st.binary(max_size=6), st.booleans()), max_size=40),
)
def test_behaves_like_a_bounded_ordered_dict(size: int, ops: list[tuple[str, bytes, bool]]) -> None:
    """Property: the same answers as a reference model, never over either bound."""
    lru: LRU[str, bytes] = LRU(size, max_weight=12, weigh=len)
    model: OrderedDict[str, bytes] = OrderedDict()
    for key, value, is_put in ops:
        if is_put:
            model.pop(key, None)
            if len(value) <= 12:
                model[key] = value
                while len(model) > size or sum(map(len, model.values())) > 12:
                    model.popitem(last=False)
            lru.put(key, value)
        else:
            expected = model.get(key)
            if expected is not None:
                model.move_to_end(key)
            assert lru.get(key) == expected
        assert len(lru) == len(model) <= size
        assert lru.weight == sum(map(len, model.values())) <= 12


async def test_concurrent_calls_with_one_key_share_one_run() -> None:
    """Callers of one key while it runs get its one result; other keys run apart."""
    flight: SingleFlight[str, int] = SingleFlight()
    calls: list[str] = []

    async def work(key: str) -> int:
        calls.append(key)
        await asyncio.sleep(0.01)
        return len(calls)

    results = await asyncio.gather(*(flight.do(k, lambda k=k: work(k)) for k in "aab"))  # type: ignore[misc]
    assert sorted(calls) == ["a", "b"] and results[0] == results[1]


async def test_a_failure_reaches_every_caller_and_frees_the_key() -> None:
    """An exception is raised to each waiting caller; the next call runs afresh."""
    flight: SingleFlight[str, int] = SingleFlight()

    async def fail() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    outcomes = await asyncio.gather(flight.do("k", fail), flight.do("k", fail), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert len(flight) == 0

    async def ok() -> int:
        return 1

    assert await flight.do("k", ok) == 1


async def test_an_executor_future_can_be_shared() -> None:
    """The computation may be an executor future (the git reader's blocking reads)."""
    flight: SingleFlight[str, int] = SingleFlight()
    loop = asyncio.get_running_loop()
    assert await flight.do("k", lambda: loop.run_in_executor(None, sum, [1, 2])) == 3
