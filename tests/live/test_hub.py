"""Specification of the long-poll WatchHub."""

from __future__ import annotations

import asyncio
import math
import time
import tracemalloc

import pytest

from config_server.live.hub import WatchHub

KEY = ("orders", "prod", "main")


async def settle() -> None:
    """Let every ready callback and task run (a few loop turns)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_returns_at_once_when_etag_already_differs() -> None:
    """A client holding an old etag gets the current one without waiting."""
    hub = WatchHub()
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(hub.wait(KEY, "v1", timeout=30), 0.5) == "v2"  # not the 30 s
    assert hub.watcher_count() == 0


async def test_publish_wakes_a_waiting_watcher_with_the_new_etag() -> None:
    """A watcher holding the current etag is woken by a publish of a different one."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    watcher = asyncio.create_task(hub.wait(KEY, "v1", timeout=30))
    await settle()
    assert not watcher.done()
    assert hub.publish(KEY, "v2") is True
    assert await asyncio.wait_for(watcher, 1) == "v2"
    assert hub.current(KEY) == "v2"


async def test_timeout_returns_none() -> None:
    """With no change the watcher returns None once its timeout passes."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    started = time.monotonic()
    assert await asyncio.wait_for(hub.wait(KEY, "v1", timeout=0.05), 1) is None
    assert 0.04 <= time.monotonic() - started < 1
    assert hub.watcher_count() == 0
    assert hub.watched_keys() == []


async def test_timeout_is_capped_at_max_wait() -> None:
    """A timeout longer than max_wait is cut to max_wait."""
    hub = WatchHub(max_wait=0.05)
    hub.publish(KEY, "v1")
    started = time.monotonic()
    assert await asyncio.wait_for(hub.wait(KEY, "v1", timeout=3600), 1) is None
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
async def test_no_positive_timeout_means_no_wait(timeout: float) -> None:
    """Zero, negative or NaN timeouts return None at once when nothing changed."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    assert await asyncio.wait_for(hub.wait(KEY, "v1", timeout), 0.5) is None
    assert hub.watcher_count() == 0


@pytest.mark.parametrize("max_wait", [0, -1, math.inf, math.nan])
def test_max_wait_must_be_positive_and_finite(max_wait: float) -> None:
    """A hub cannot be built with a max_wait that is not a positive number of seconds."""
    with pytest.raises(ValueError, match="max_wait"):
        WatchHub(max_wait=max_wait)


async def test_publishing_the_same_etag_wakes_nobody() -> None:
    """Re-publishing the current etag reports no change and leaves watchers waiting."""
    hub = WatchHub()
    assert hub.publish(KEY, "v1") is True
    watcher = asyncio.create_task(hub.wait(KEY, "v1", timeout=30))
    await settle()
    assert hub.publish(KEY, "v1") is False
    await settle()
    assert not watcher.done()
    assert hub.watcher_count(KEY) == 1
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(watcher, 1) == "v2"


async def test_unknown_key_waits_for_a_first_publish_other_than_the_clients_etag() -> None:
    """Before any publish the hub cannot judge; a first publish equal to the client's etag is no change."""
    hub = WatchHub()
    assert hub.current(KEY) is None
    watcher = asyncio.create_task(hub.wait(KEY, "v1", timeout=30))
    await settle()
    assert hub.publish(KEY, "v1") is True
    await settle()
    assert not watcher.done()
    assert hub.watcher_count(KEY) == 1
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(watcher, 1) == "v2"


async def test_publish_wakes_only_the_watchers_of_its_key() -> None:
    """Watchers of other keys keep waiting."""
    hub = WatchHub()
    for key in ("a", "b"):
        hub.publish(key, "v1")
    a = asyncio.create_task(hub.wait("a", "v1", timeout=30))
    b = asyncio.create_task(hub.wait("b", "v1", timeout=30))
    await settle()
    hub.publish("a", "v2")
    assert await asyncio.wait_for(a, 1) == "v2"
    assert not b.done()
    assert hub.watched_keys() == ["b"]
    b.cancel()
    await settle()


async def test_counts_and_keys_reflect_waiting_watchers() -> None:
    """watcher_count and watched_keys report who is waiting, per key and in total."""
    hub = WatchHub()
    tasks = [asyncio.create_task(hub.wait(key, "v0", timeout=30)) for key in ("x", "y", "x")]
    await settle()
    assert hub.watched_keys() == ["x", "y"]
    assert (hub.watcher_count("x"), hub.watcher_count("y"), hub.watcher_count("z")) == (2, 1, 0)
    assert hub.watcher_count() == 3
    hub.close()
    assert await asyncio.wait_for(asyncio.gather(*tasks), 1) == [None, None, None]


async def test_ten_thousand_watchers_on_ten_keys_wake_with_one_publish_per_key() -> None:
    """10,000 watchers on ten keys: one publish per key wakes them all, and the hub empties."""
    hub = WatchHub()
    keys = [("app", f"profile-{n}", "main") for n in range(10)]
    for key in keys:
        hub.publish(key, "v1")
    watchers = [asyncio.create_task(hub.wait(keys[n % 10], "v1", timeout=60)) for n in range(10_000)]
    await settle()
    assert hub.watcher_count() == 10_000
    assert all(hub.watcher_count(key) == 1_000 for key in keys)
    assert len(hub._waiting) == 10  # bookkeeping per key, not per watcher
    for key in keys:
        assert hub.publish(key, f"v2-{key[1]}") is True
    results = await asyncio.wait_for(asyncio.gather(*watchers), 10)
    assert results == [f"v2-profile-{n % 10}" for n in range(10_000)]
    assert hub.watcher_count() == 0
    assert hub.watched_keys() == []
    assert hub._waiting == {}


async def test_cancelled_watcher_leaves_nothing_behind_and_does_not_disturb_peers() -> None:
    """A client that disconnects is removed; the others on its key still get the change."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    gone = asyncio.create_task(hub.wait(KEY, "v1", timeout=30))
    stays = asyncio.create_task(hub.wait(KEY, "v1", timeout=30))
    await settle()
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(gone, 1)
    assert hub.watcher_count(KEY) == 1
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(stays, 1) == "v2"
    assert hub.watcher_count() == 0


async def test_when_the_last_watcher_of_a_key_is_cancelled_its_bookkeeping_is_dropped() -> None:
    """Cancelling every watcher of a key empties the hub, current etag aside."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    tasks = [asyncio.create_task(hub.wait(KEY, "v1", timeout=30)) for _ in range(100)]
    await settle()
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 1)
    assert hub.watcher_count() == 0
    assert hub.watched_keys() == []
    assert hub._waiting == {}
    assert hub.current(KEY) == "v1"
    assert await asyncio.wait_for(hub.wait(KEY, "v0", timeout=30), 0.5) == "v1"


async def _watch_and_disconnect(hub: WatchHub, count: int) -> None:
    gone = [asyncio.create_task(hub.wait(KEY, "v1", timeout=60)) for _ in range(count)]
    await settle()
    for task in gone:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*gone, return_exceptions=True), 10)


async def test_mass_disconnect_from_one_key_is_linear() -> None:
    """10,000 clients of one key disconnecting at once take well under a second (no O(n²) cleanup)."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    watchers = [asyncio.create_task(hub.wait(KEY, "v1", timeout=60)) for _ in range(10_000)]
    await settle()
    started = time.monotonic()
    for task in watchers:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*watchers, return_exceptions=True), 10)
    assert time.monotonic() - started < 1.0
    assert hub.watcher_count() == 0


# Its subject is memory, not latency: under tracemalloc, creating 10,000 tasks in one step costs
# about 0.5 s of CPU by itself, which is the measurement, not a block in the code under test.
@pytest.mark.allow_blocking
async def test_cancelled_watchers_release_their_memory_while_peers_keep_waiting() -> None:
    """10,000 watchers that disconnect leave no callbacks, timers or futures behind."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    peer = asyncio.create_task(hub.wait(KEY, "v1", timeout=60))
    # A first round grows asyncio's own tables (its task set never shrinks); measure the second.
    await _watch_and_disconnect(hub, 10_000)
    await settle()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await _watch_and_disconnect(hub, 10_000)
        await settle()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert hub.watcher_count() == 1
    assert left < 256 * 1024, f"{left / 1e6:.2f} MB left behind by 10,000 cancelled watchers"
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(peer, 1) == "v2"


async def test_timed_out_and_woken_watchers_mix_cleanly() -> None:
    """Short and long waits on one key: the short time out, the long see the change."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    short = [asyncio.create_task(hub.wait(KEY, "v1", timeout=0.02)) for _ in range(50)]
    long = [asyncio.create_task(hub.wait(KEY, "v1", timeout=30)) for _ in range(50)]
    assert await asyncio.wait_for(asyncio.gather(*short), 1) == [None] * 50
    assert hub.watcher_count(KEY) == 50
    hub.publish(KEY, "v2")
    assert await asyncio.wait_for(asyncio.gather(*long), 1) == ["v2"] * 50
    assert hub.watcher_count() == 0


async def test_close_wakes_everyone_with_none_and_later_waits_return_at_once() -> None:
    """Shutdown: every watcher returns None, and new waits do not block."""
    hub = WatchHub()
    hub.publish(KEY, "v1")
    watchers = [asyncio.create_task(hub.wait(("k", n % 3), "v1", timeout=30)) for n in range(30)]
    await settle()
    hub.close()
    assert await asyncio.wait_for(asyncio.gather(*watchers), 1) == [None] * 30
    assert hub.watcher_count() == 0
    assert await asyncio.wait_for(hub.wait(KEY, "v1", timeout=30), 0.5) is None


async def test_ten_thousand_watchers_cost_under_twenty_megabytes() -> None:
    """Memory stays bounded: 10,000 idle watchers, tasks included, take under 20 MB."""
    hub = WatchHub()
    for n in range(10):
        hub.publish(n, "v1")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        watchers: list[asyncio.Task[str | None]] = []
        for _ in range(10):  # in steps, so no single loop callback does 10,000 tasks' work
            watchers += [asyncio.create_task(hub.wait(n % 10, "v1", timeout=60)) for n in range(1_000)]
            await asyncio.sleep(0)
        await settle()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert hub.watcher_count() == 10_000
    hub.close()
    await asyncio.wait_for(asyncio.gather(*watchers), 10)
    assert used < 20 * 1024 * 1024, f"{used / 1e6:.1f} MB for 10,000 watchers"


# --- Prefer: wait -----------------------------------------------------------------------------


async def test_forget_drops_the_etag_only_when_nobody_watches() -> None:
    """forget() keeps memory bounded by watched keys; a watched key is kept."""
    hub = WatchHub()
    hub.publish("k", '"1"')
    hub.forget("k")
    assert hub.current("k") is None
    hub.publish("k", '"1"')
    waiter = asyncio.ensure_future(hub.wait("k", '"1"', 5))
    await asyncio.sleep(0)
    hub.forget("k")
    assert hub.current("k") == '"1"'
    hub.publish("k", '"2"')
    assert await waiter == '"2"'
