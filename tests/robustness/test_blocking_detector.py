"""The suite's own guard: a callback that blocks the event loop is caught (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import SLOW_CALLBACK_SECONDS


@pytest.mark.allow_blocking
async def test_a_blocking_callback_is_reported(no_blocking_callbacks: list[str]) -> None:
    """A coroutine step that sleeps synchronously past the limit is recorded, naming itself."""

    async def stalls_the_loop() -> None:
        time.sleep(SLOW_CALLBACK_SECONDS + 0.1)

    await asyncio.create_task(stalls_the_loop())
    assert len(no_blocking_callbacks) == 1
    assert "stalls_the_loop" in no_blocking_callbacks[0]


async def test_short_callbacks_are_not_reported(no_blocking_callbacks: list[str]) -> None:
    """Ordinary awaits, sleeps and executor hops leave nothing behind."""
    await asyncio.sleep(0.01)
    await asyncio.to_thread(time.sleep, SLOW_CALLBACK_SECONDS + 0.1)
    assert no_blocking_callbacks == []
