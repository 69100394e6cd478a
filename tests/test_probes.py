"""``LoopMonitor``: liveness from the event loop's heartbeat (a real loop, really blocked)."""

from __future__ import annotations

import asyncio
import time

from config_server.probes import LoopMonitor


async def test_a_running_loop_is_alive() -> None:
    """A loop that runs its heartbeat on time is UP."""
    monitor = LoopMonitor(interval=0.02)
    await monitor.start()
    try:
        await asyncio.sleep(0.1)
        check = monitor.check()
        assert check.up and check.name == "eventLoop"
    finally:
        await monitor.close()


async def test_a_block_over_the_limit_is_down_for_a_while() -> None:
    """A loop blocked past the limit is DOWN once it runs again, for ``remember`` seconds, then UP."""
    monitor = LoopMonitor(interval=0.02, block_limit=0.15, remember=0.4)
    await monitor.start()
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # the block under test (well under the suite's 2 s stall limit)
        await asyncio.sleep(0.05)
        check = monitor.check()
        assert not check.up and "blocked for 0.3" in check.detail
        assert monitor.worst_lag >= 0.25
        await asyncio.sleep(0.5)
        assert monitor.check().up
    finally:
        await monitor.close()


async def test_a_block_under_the_limit_stays_up() -> None:
    """A short block (under the limit) is lag, not death."""
    monitor = LoopMonitor(interval=0.02, block_limit=0.5)
    await monitor.start()
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.1)
        await asyncio.sleep(0.05)
        assert monitor.check().up
    finally:
        await monitor.close()


async def test_a_loop_blocked_now_is_down_to_another_thread() -> None:
    """Asked from another thread while the loop is blocked, the monitor says DOWN."""
    monitor = LoopMonitor(interval=0.02, block_limit=0.1)
    await monitor.start()
    try:
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        seen = loop.run_in_executor(None, lambda: (time.sleep(0.25), monitor.check())[1])
        time.sleep(0.4)  # blocked while the thread asks
        check = await seen
        assert not check.up and "blocked" in check.detail
    finally:
        await monitor.close()


async def test_a_stopped_heartbeat_is_down() -> None:
    """Without its heartbeat task (never started, or closed), the monitor is DOWN."""
    monitor = LoopMonitor()
    assert not monitor.check().up
    await monitor.start()
    await monitor.close()
    assert not monitor.check().up
