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

# A callback (a task step, a timer, an I/O callback) that runs long blocks every other request of
# the server; the fixture below fails the test that did it. Two measures, so that a busy shared
# machine cannot fail a test that does nothing wrong:
# - CPU time of the loop thread (time.thread_time) over half a second: a CPU-bound block. CPU time
#   does not grow while the thread waits for a core, so other processes cannot inflate it.
# - wall time over two seconds: a callback that *waits* on the loop (time.sleep, a synchronous
#   socket, subprocess or thread join) burns no CPU, so only wall time shows it. Two seconds is four
#   times the worst wall time a harmless callback has taken on the loaded 2-core machine (0.507 s,
#   a worker thread's stop), and still well below a blocking git or Vault call that hangs.
SLOW_CALLBACK_SECONDS = float(os.environ.get("CONFIG_SERVER_TEST_SLOW_CALLBACK", "0.5"))
STALLED_CALLBACK_SECONDS = float(os.environ.get("CONFIG_SERVER_TEST_STALLED_CALLBACK", "2.0"))


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
    """Fail the test if an event-loop callback used over ``SLOW_CALLBACK_SECONDS`` of CPU or
    took over ``STALLED_CALLBACK_SECONDS`` of wall time.

    This is what asyncio's debug mode reports as "Executing <Handle> took N seconds", measured
    the cheap way: debug mode also records a stack for every future and handle, which would
    triple the cost of the 10,000-watcher tests. Every loop in the process is timed (the
    server's, and the sync client's loop thread); the yielded list holds what was seen.
    """
    seen: list[str] = []
    original = asyncio.events.Handle._run
    cpu_limit, wall_limit = SLOW_CALLBACK_SECONDS, STALLED_CALLBACK_SECONDS

    def timed_run(handle: asyncio.Handle) -> None:
        start = time.monotonic()
        cpu_start = time.thread_time()
        try:
            original(handle)
        finally:
            cpu = time.thread_time() - cpu_start
            took = time.monotonic() - start
            if cpu >= cpu_limit or took >= wall_limit:
                seen.append(
                    f"{_describe(handle)} took {took:.3f} s ({cpu:.3f} s CPU) "
                    f"in thread {threading.current_thread().name}"
                )

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
    if seen and request.node.get_closest_marker("allow_blocking") is None:
        pytest.fail(
            f"the event loop was blocked (callbacks over {cpu_limit} s of CPU or {wall_limit} s of "
            "wall time; set CONFIG_SERVER_TEST_SLOW_CALLBACK / _STALLED_CALLBACK to tune):\n  "
            + "\n  ".join(seen),
            pytrace=False,
        )


def _describe(handle: asyncio.Handle) -> str:
    """The task a handle steps (its coroutine and line), else the handle itself."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)
