"""Live configuration end to end: the real client library watching the real server over loopback.

Each test pushes to a real bare repository on this host (the server watches it for pushes, with
background fetches turned off) and observes what the real ``config_client`` clients see.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from config_client import AsyncConfigClient, ChangeEvent, ConfigClient

from config_server.components import GIT, LIVE
from tests.e2e.live_support import ChangeLog, LiveServer, local_settings, wait_until
from tests.support.gitrepo import GitRemote
from tests.support.polling import eventually

PUSH_TO_CALLBACK_BOUND = 3.0  # seconds; a local push is normally seen in well under half a second
PATH = "/orders/default"


pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


@pytest.fixture
async def server(git_remote: GitRemote, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server on a loopback port, serving ``orders`` (greeting: hello) from a local remote."""
    git_remote.write({"orders.yml": "greeting: hello\n", "application.yml": "shared: 1\n"})
    live = LiveServer(local_settings(git_remote.uri, tmp_path / "clone"))
    await live.start()
    yield live
    await live.stop()


def watching(server: LiveServer, count: int = 1) -> bool:
    """Whether ``count`` long polls are held by the server right now."""
    live = server.app[LIVE]
    assert live is not None
    return live.hub.watcher_count() >= count


async def push(remote: GitRemote, files: dict[str, str]) -> tuple[str, float]:
    """Commit and push off the event loop; the new commit id and the monotonic time the push returned."""
    sha = await asyncio.to_thread(remote.write, files)
    return sha, time.monotonic()


async def fetched(server: LiveServer, sha: str) -> None:
    """Wait until the server has fetched ``sha`` (its default label resolves to it)."""

    async def resolves() -> bool:
        return await server.app[GIT].resolve(None) == sha

    async with asyncio.timeout(5):
        while not await resolves():
            await asyncio.sleep(0.02)


async def test_push_reaches_on_change_callback(server: LiveServer, git_remote: GitRemote) -> None:
    """A push changes the value a long-polling client holds and calls on_change within the bound."""
    changes = ChangeLog()
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
        client.on_change(changes)
        await wait_until(lambda: watching(server), 5)
        sha, pushed = await push(git_remote, {"orders.yml": "greeting: hi\n"})
        arrived, event = await changes.next(PUSH_TO_CALLBACK_BOUND + 2)
        assert arrived - pushed < PUSH_TO_CALLBACK_BOUND
        assert event.changed == {"greeting": ("hello", "hi")}
        assert not event.added and not event.removed
        assert event.version == sha == client.version
        assert client["greeting"] == "hi"
    assert len(server.answers(PATH, 200)) == 2  # the first load and the one woken poll


async def test_unrelated_commit_wakes_nobody(server: LiveServer, git_remote: GitRemote) -> None:
    """A commit that leaves orders' configuration unchanged answers no held poll and calls no callback."""
    changes = ChangeLog()
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
        client.on_change(changes)
        await wait_until(lambda: watching(server), 5)
        before = client.version
        sha, _ = await push(git_remote, {"billing.yml": "limit: 5\n"})
        await fetched(server, sha)
        await asyncio.sleep(0.5)  # time for the recomputation that would have woken the poll
        assert changes.events == []
        assert server.answers(PATH, 200) == server.answers(PATH)[:1]  # only the first load
        assert watching(server)  # still held, not answered and re-sent
        assert client.version == before


async def test_broken_push_never_replaces_a_good_snapshot(server: LiveServer, git_remote: GitRemote) -> None:
    """Invalid YAML is never delivered (the client keeps its snapshot); the fixing push is delivered."""
    changes = ChangeLog()
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
        client.on_change(changes)
        await wait_until(lambda: watching(server), 5)
        good = client.version
        broken, _ = await push(git_remote, {"orders.yml": "greeting: [broken\n"})
        await fetched(server, broken)
        async with aiohttp.ClientSession() as http, http.get(server.url + PATH) as resp:
            assert resp.status == 500  # the server really does see the broken commit
        await asyncio.sleep(0.3)
        assert changes.events == []
        assert (client.version, client["greeting"], client.snapshot.origin) == (good, "hello", "server")
        fixed, pushed = await push(git_remote, {"orders.yml": "greeting: fixed\n"})
        arrived, event = await changes.next(PUSH_TO_CALLBACK_BOUND + 2)
        assert arrived - pushed < PUSH_TO_CALLBACK_BOUND
        assert event.changed == {"greeting": ("hello", "fixed")}
        assert (event.previous_version, event.version) == (good, fixed)


async def test_sync_client_in_a_with_block_sees_a_push(server: LiveServer, git_remote: GitRemote) -> None:
    """The blocking ConfigClient, used in a with block from a plain thread, receives a push."""

    def service() -> tuple[ChangeEvent, float, str, object]:
        seen = threading.Event()
        events: list[ChangeEvent] = []

        def on_change(event: ChangeEvent) -> None:
            events.append(event)
            seen.set()

        with ConfigClient(server.url, application="orders", long_poll_wait=30) as config:
            config.on_change(on_change)
            assert config["greeting"] == "hello"
            eventually(lambda: watching(server), timeout=5, step=0.02)
            sha = git_remote.write({"orders.yml": "greeting: from-thread\n"})
            pushed = time.monotonic()
            assert seen.wait(PUSH_TO_CALLBACK_BOUND + 2), "no change reached the sync client"
            return events[0], time.monotonic() - pushed, sha, config["greeting"]

    event, elapsed, sha, value = await asyncio.to_thread(service)
    assert elapsed < PUSH_TO_CALLBACK_BOUND
    assert event.changed == {"greeting": ("hello", "from-thread")}
    assert (event.version, value) == (sha, "from-thread")


async def test_without_prefer_wait_the_server_is_plain_spring(
    server: LiveServer, git_remote: GitRemote
) -> None:
    """Without Prefer: wait nothing is held (304 at once); a polling client still sees pushes."""
    changes = ChangeLog()
    async with AsyncConfigClient(
        server.url, application="orders", long_poll_wait=0, poll_interval=0.2
    ) as client:
        client.on_change(changes)
        await wait_until(lambda: len(server.answers(PATH, 304)) >= 2, 5)
        sha, pushed = await push(git_remote, {"orders.yml": "greeting: polled\n"})
        arrived, event = await changes.next(PUSH_TO_CALLBACK_BOUND + 2)
        assert arrived - pushed < PUSH_TO_CALLBACK_BOUND
        assert event.changed == {"greeting": ("hello", "polled")} and client.version == sha
    assert not any(a.long_poll for a in server.answers(PATH))
    assert not watching(server)


async def test_a_thousand_watchers_all_receive_one_change(server: LiveServer, git_remote: GitRemote) -> None:
    """1,000 AsyncConfigClients long-polling one server all get the one pushed change."""
    count = 1000
    changes = ChangeLog()
    clients = [AsyncConfigClient(server.url, application="orders", long_poll_wait=30) for _ in range(count)]
    try:
        await asyncio.gather(*(c.start() for c in clients))
        for c in clients:
            c.on_change(changes)
        await wait_until(lambda: watching(server, count), 15)
        sha, pushed = await push(git_remote, {"orders.yml": "greeting: everyone\n"})
        await wait_until(lambda: len(changes.events) >= count, 15)
        assert max(t for t, _ in changes.events) - pushed < PUSH_TO_CALLBACK_BOUND * 2
        assert {e.version for _, e in changes.events} == {sha}
        assert all(c["greeting"] == "everyone" for c in clients)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def test_a_sub_second_long_poll_wait_is_still_held(server: LiveServer) -> None:
    """long_poll_wait=0.5 asks for a one-second hold (whole seconds), never for wait=0."""
    async with AsyncConfigClient(server.url, application="orders", long_poll_wait=0.5):
        await wait_until(lambda: watching(server), 3)  # with wait=0 the server would hold nothing
