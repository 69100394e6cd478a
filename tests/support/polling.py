"""A bounded poll for the synchronous tests (async tests use ``tests.e2e.live_support.wait_until``)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["eventually"]


def eventually(check: Callable[[], bool], *, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds passed; its last answer.

    The default bound is generous: a reload goes through a file watch (debounced) and a re-read,
    which a slow, busy CI machine can take seconds for. A passing check returns at once."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
