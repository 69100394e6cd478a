"""Live-configuration end-to-end support: the real server app on a real loopback port.

``LiveServer`` runs ``create_app(Settings)`` with aiohttp's ``AppRunner``/``TCPSite`` in the test's
event loop, so the real ``config_client`` clients talk to it over TCP exactly as a service would.
It can be stopped and started again on the same port (a new application each time, the clone in
``basedir`` kept), and it records every response it sends so tests can prove that nobody was
answered with a new configuration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from config_client import ChangeEvent

from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.settings import Settings
from tests.support.processes import free_port

__all__ = ["Answered", "ChangeLog", "LiveServer", "free_port", "local_settings", "wait_until"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answered:
    """One response the server sent: method, raw path, status, and whether it was a held long poll."""

    method: str
    path: str
    status: int
    long_poll: bool


class LiveServer:
    """The real config server on ``127.0.0.1:<port>``; ``start()``/``stop()`` may alternate.

    ``settings.port`` is replaced by a free port chosen once, so a restart comes back at the same
    ``url``. ``answered`` lists every response sent since the first start.
    """

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = replace(settings, host="127.0.0.1", port=self.port)
        self.answered: list[Answered] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> web.Application:
        """The running application (its resources under ``config_server.components``' keys)."""
        if self._runner is None:
            raise RuntimeError("the server is not running")
        return self._runner.app

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> LiveServer:
        """Build a fresh application and listen on the port (retrying while the old socket closes)."""
        if self._runner is not None:
            return self
        app = create_app(self.settings)
        app.on_response_prepare.append(self._record)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.1, **RUNNER_OPTIONS
        )
        await runner.setup()
        deadline = time.monotonic() + 5
        while True:
            try:
                await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
                break
            except OSError:
                if time.monotonic() > deadline:
                    await runner.cleanup()
                    raise
                await asyncio.sleep(0.05)
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Close the listening socket and every connection, then the app's resources (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _record(self, request: web.Request, response: web.StreamResponse) -> None:
        self.answered.append(
            Answered(request.method, request.path, response.status, "Preference-Applied" in response.headers)
        )

    def answers(self, path: str, status: int | None = None) -> list[Answered]:
        """The responses sent for ``path`` (optionally only those with ``status``)."""
        return [a for a in self.answered if a.path == path and (status is None or a.status == status)]


class ChangeLog:
    """An ``on_change`` callback recording each event with the monotonic time it arrived.

    Safe to use from a ``ConfigClient``'s own thread: it only appends to a list, and waiting polls.
    """

    def __init__(self) -> None:
        self.events: list[tuple[float, ChangeEvent]] = []
        self._taken = 0

    def __call__(self, event: ChangeEvent) -> None:
        self.events.append((time.monotonic(), event))

    async def next(self, timeout: float) -> tuple[float, ChangeEvent]:
        """The next event not yet taken, waiting up to ``timeout`` seconds (``TimeoutError``)."""
        await wait_until(lambda: len(self.events) > self._taken, timeout)
        self._taken += 1
        return self.events[self._taken - 1]


async def wait_until(check: Callable[[], T | None], timeout: float, *, step: float = 0.02) -> T:
    """Poll ``check()`` until it returns something truthy; ``TimeoutError`` after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            found = check()
            if found:
                return found
            await asyncio.sleep(step)


def local_settings(remote_uri: str, basedir: Path, **overrides: Any) -> Settings:
    """Settings for ``remote_uri`` with background fetches off (a local remote is still watched)."""
    overrides.setdefault("refresh_rate", 3600)
    return Settings(repo=remote_uri, basedir=basedir, **overrides)
