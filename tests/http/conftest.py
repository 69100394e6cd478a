"""A real server on loopback, serving a real git repository."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner

from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.http.protocol import ConnectionLimits, HardenedAppRunner
from config_server.settings import Settings
from tests.support.gitrepo import GitRemote

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def serve(aiohttp_client: Any, tmp_path: Path) -> Serve:
    """Start the server for a GitRemote; keyword arguments become Settings fields."""

    async def start(remote: GitRemote, **settings: Any) -> TestClient[Any, Any]:
        settings.setdefault("refresh_rate", 3600)
        settings.setdefault("basedir", tmp_path / "clone")
        config = Settings(repo=remote.uri, **settings)
        server = HardenedTestServer(create_app(config), limits=ConnectionLimits.from_settings(config))
        return await aiohttp_client(server)  # type: ignore[no-any-return]

    return start


class HardenedTestServer(TestServer):
    """aiohttp's test server running the app as ``cli.serve`` does (``HardenedAppRunner``)."""

    def __init__(self, app: web.Application, *, limits: ConnectionLimits) -> None:
        super().__init__(app, host="127.0.0.1")
        self.limits = limits

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return HardenedAppRunner(self.app, limits=self.limits, **{**kwargs, **RUNNER_OPTIONS})


def app_of(client: TestClient[Any, Any]) -> web.Application:
    """The server application behind a test client (its resources under ``components``' keys)."""
    app: web.Application = client.app
    return app


async def raw_get(client: TestClient[Any, Any], path: str, **kwargs: Any) -> Any:
    """GET ``path`` exactly as written: no client-side normalisation of '..' or percent-escapes."""
    from yarl import URL

    base = str(client.make_url("/")).rstrip("/")
    return await client.session.get(URL(base + path, encoded=True), **kwargs)


@contextlib.contextmanager
def threaded_server(
    remote: GitRemote, basedir: Path, **settings: Any
) -> Iterator[tuple[str, web.Application]]:
    """The server for ``remote`` on a free loopback port, its event loop in a thread of its own.

    For synchronous clients (requests, schemathesis) that cannot share the test's loop. Yields the
    base URL (``http://127.0.0.1:PORT``) and the running application; stops it on exit.
    """
    settings.setdefault("refresh_rate", 3600)
    app = create_app(Settings(repo=remote.uri, basedir=basedir, port=0, **settings))
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1, **RUNNER_OPTIONS)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="threaded-server", daemon=True)
    thread.start()

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        yield f"http://127.0.0.1:{port}", app
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
