"""Fixtures shared by the whole suite. Area-specific fixtures live in each folder's conftest."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import containment
from tests.support.containment import (  # the guard that keeps every test inside the repository
    outside_reads,
    pytest_make_collect_report,
    pytest_runtest_makereport,
)
from tests.support.gitrepo import GitRemote

__all__ = ["outside_reads", "pytest_make_collect_report", "pytest_runtest_makereport"]
pytest_plugins = ["pytester"]

# A callback (a task step, a timer, an I/O callback) that runs longer than this blocks every other
# request of the server; the fixture below fails the test that did it. Half a second is five times
# asyncio's own debug threshold, so a loaded 2-core machine does not make it flaky, and still far
# below what a blocking git or Vault call costs.
SLOW_CALLBACK_SECONDS = float(os.environ.get("CONFIG_SERVER_TEST_SLOW_CALLBACK", "0.5"))


def pytest_configure(config: pytest.Config) -> None:
    containment.pytest_configure(config)
    config.addinivalue_line(
        "markers", "allow_blocking: the test may block the event loop (say why in its docstring)"
    )


@pytest.fixture
def git_remote(tmp_path: Path) -> GitRemote:
    """An empty bare remote on branch ``main`` with a work clone; write() commits and pushes."""
    return GitRemote(tmp_path / "git")


@pytest.fixture(autouse=True)
def no_blocking_callbacks(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Fail the test if any event-loop callback took longer than ``SLOW_CALLBACK_SECONDS``.

    This is what asyncio's debug mode reports as "Executing <Handle> took N seconds", measured
    the cheap way: debug mode also records a stack for every future and handle, which would
    triple the cost of the 10,000-watcher tests. Every loop in the process is timed (the
    server's, and the sync client's loop thread); the yielded list holds what was seen.
    """
    seen: list[str] = []
    original = asyncio.events.Handle._run
    limit = SLOW_CALLBACK_SECONDS

    def timed_run(handle: asyncio.Handle) -> None:
        start = time.monotonic()
        cpu = time.thread_time()
        try:
            original(handle)
        finally:
            took = time.monotonic() - start
            if took >= limit:
                seen.append(
                    f"{_describe(handle)} took {took:.3f} s ({time.thread_time() - cpu:.3f} s CPU) "
                    f"in thread {threading.current_thread().name}"
                )

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
    if seen and request.node.get_closest_marker("allow_blocking") is None:
        pytest.fail(
            "the event loop was blocked (callbacks over "
            f"{limit} s; set CONFIG_SERVER_TEST_SLOW_CALLBACK to tune):\n  " + "\n  ".join(seen),
            pytrace=False,
        )


def _describe(handle: asyncio.Handle) -> str:
    """The task a handle steps (its coroutine and line), else the handle itself."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)
