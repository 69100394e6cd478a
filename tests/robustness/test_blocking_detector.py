"""The suite's own guard: a callback that blocks the event loop is caught (tests/conftest.py).

It catches a callback that burns over ``SLOW_CALLBACK_SECONDS`` of CPU (a CPU-bound block) and one
that waits on the loop over ``STALLED_CALLBACK_SECONDS`` of wall time (a synchronous sleep, socket
or join); a shorter wait that burns no CPU, which is what a busy shared machine produces, is not
a failure.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import SLOW_CALLBACK_SECONDS, STALLED_CALLBACK_SECONDS


def burn_cpu(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU time."""
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


@pytest.mark.allow_blocking
async def test_a_cpu_bound_callback_is_reported(no_blocking_callbacks: list[str]) -> None:
    """A coroutine step that computes past the CPU limit is recorded, naming itself."""

    async def stalls_the_loop() -> None:
        burn_cpu(SLOW_CALLBACK_SECONDS + 0.1)

    await asyncio.create_task(stalls_the_loop())
    assert len(no_blocking_callbacks) == 1
    assert "stalls_the_loop" in no_blocking_callbacks[0]


@pytest.mark.allow_blocking
async def test_a_callback_that_sleeps_past_the_wall_limit_is_reported(
    no_blocking_callbacks: list[str],
) -> None:
    """A synchronous sleep on the loop burns no CPU, and is still caught by its wall time."""

    async def sleeps_on_the_loop() -> None:
        time.sleep(STALLED_CALLBACK_SECONDS + 0.1)

    await asyncio.create_task(sleeps_on_the_loop())
    assert len(no_blocking_callbacks) == 1
    assert "sleeps_on_the_loop" in no_blocking_callbacks[0]


async def test_a_short_wait_without_cpu_is_not_reported(no_blocking_callbacks: list[str]) -> None:
    """Waiting past the CPU limit but under the wall limit (a slow machine's stall) passes."""

    async def waits_briefly() -> None:
        time.sleep(SLOW_CALLBACK_SECONDS + 0.1)

    await asyncio.create_task(waits_briefly())
    assert no_blocking_callbacks == []


async def test_short_callbacks_are_not_reported(no_blocking_callbacks: list[str]) -> None:
    """Ordinary awaits, sleeps and executor hops leave nothing behind."""
    await asyncio.sleep(0.01)
    await asyncio.to_thread(time.sleep, SLOW_CALLBACK_SECONDS + 0.1)
    assert no_blocking_callbacks == []
