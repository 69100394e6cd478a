"""A client that starts while the server is down serves its last-known-good cache, then recovers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from config_client import AsyncConfigClient, ConfigUnavailable

from config_server.components import LIVE
from tests.e2e.live_support import ChangeLog, LiveServer, local_settings, wait_until
from tests.support.gitrepo import GitRemote

PUSH_TO_CALLBACK_BOUND = 3.0


pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


def orders(server: LiveServer, cache: Path) -> AsyncConfigClient:
    """A long-polling client of ``orders`` with a last-known-good cache in ``cache``."""
    return AsyncConfigClient(
        server.url, application="orders", cache_dir=cache, long_poll_wait=30, retry_max_attempts=2
    )


async def test_starts_from_cache_while_down_and_recovers(git_remote: GitRemote, tmp_path: Path) -> None:
    """Server down: the client starts from its cache; server back on the same port: changes flow again."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    server = LiveServer(local_settings(git_remote.uri, tmp_path / "clone"))
    cache = tmp_path / "cache"
    await server.start()
    try:
        async with orders(server, cache) as first:
            assert first.snapshot.origin == "server"
        await server.stop()

        changes = ChangeLog()
        async with orders(server, cache) as client:
            client.on_change(changes)
            assert (client.snapshot.origin, client["greeting"]) == ("cache", "hello")
            await asyncio.sleep(0.2)  # the reload loop keeps failing meanwhile, and keeps the snapshot
            assert (client.snapshot.origin, client["greeting"]) == ("cache", "hello")

            missed = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: while-down\n"})
            await server.start()
            _, event = await changes.next(5)
            assert event.changed == {"greeting": ("hello", "while-down")} and event.version == missed
            assert client.snapshot.origin == "server"

            live = server.app[LIVE]
            assert live is not None
            await wait_until(live.hub.watcher_count, 5)
            sha = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: back\n"})
            pushed = time.monotonic()
            arrived, event = await changes.next(PUSH_TO_CALLBACK_BOUND + 2)
            assert arrived - pushed < PUSH_TO_CALLBACK_BOUND
            assert event.changed == {"greeting": ("while-down", "back")} and client.version == sha
    finally:
        await server.stop()


async def test_no_cache_and_no_server_fails_clearly(git_remote: GitRemote, tmp_path: Path) -> None:
    """With the server down and an empty cache directory, start() raises ConfigUnavailable."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    server = LiveServer(local_settings(git_remote.uri, tmp_path / "clone"))  # never started
    client = orders(server, tmp_path / "empty-cache")
    with pytest.raises(ConfigUnavailable, match="no usable last-known-good cache"):
        await client.start()
    await client.aclose()
