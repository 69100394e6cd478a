"""Checks of the server's lifecycle shared by the specs: a failed start-up leaves nothing behind."""

from __future__ import annotations

import asyncio
import threading

import pytest

from config_server.cli import serve
from config_server.errors import ConfigServerError
from config_server.settings import Settings
from tests.support.polling import eventually


def assert_failed_start_leaves_nothing_running(settings: Settings) -> ConfigServerError:
    """Run ``serve(settings)`` as the CLI does, expect it to fail, and check no task or thread is left.

    Returns the error, for the caller to check which one it was.
    """
    before = set(threading.enumerate())
    leftover: list[asyncio.Task[object]] = []

    async def run() -> None:
        try:
            await serve(settings)
        finally:
            leftover.extend(t for t in asyncio.all_tasks() if t is not asyncio.current_task())

    with pytest.raises(ConfigServerError) as caught:
        asyncio.run(run())
    assert leftover == []
    eventually(lambda: not set(threading.enumerate()) - before, timeout=5)
    assert {t.name for t in set(threading.enumerate()) - before} == set()
    return caught.value
