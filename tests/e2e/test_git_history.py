"""History and disks as in production, end to end: the real server on loopback under concurrent
requests while its clone is deleted or corrupted, and real clients watching across a force-push."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from config_client import AsyncConfigClient

from config_server.components import GIT, LIVE
from tests.e2e.live_support import ChangeLog, LiveServer, local_settings, wait_until
from tests.support.gitrepo import GitRemote, git

pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


@pytest.fixture
async def server(git_remote: GitRemote, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server for a local remote (fetching on push), orders and billing in it."""
    git_remote.write({"orders.yml": "greeting: hello\n", "billing.yml": "limit: 1\n"})
    live = LiveServer(local_settings(git_remote.uri, tmp_path / "clone"))
    await live.start()
    yield live
    await live.stop()


async def load(url: str, paths: list[str], stop: asyncio.Event, statuses: Counter[int]) -> None:
    """GET ``paths`` in turn until ``stop``, counting the statuses."""
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            for path in paths:
                async with http.get(url + path) as resp:
                    await resp.read()
                    statuses[resp.status] += 1


def corrupt(gitdir: Path) -> None:
    """Overwrite every object file of a clone with garbage."""
    for path in (gitdir / "objects").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.write_bytes(b"garbage" * 10)


@pytest.mark.parametrize("damage", [shutil.rmtree, corrupt], ids=["deleted", "corrupted"])
async def test_damaged_clone_under_load_is_rebuilt_without_errors(
    server: LiveServer, git_remote: GitRemote, damage: Callable[[Path], None]
) -> None:
    """Concurrent requests by branch and by commit id all get 200 while the clone is damaged, and
    the push that follows is served from a rebuilt clone."""
    first = git_remote.head()
    paths = [
        "/orders/default",
        "/orders/default/main",
        f"/orders/default/{first}",
        f"/billing/default/{first}",
    ]
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()
    workers = [asyncio.create_task(load(server.url, paths, stop, statuses)) for _ in range(8)]
    try:
        await wait_until(lambda: statuses[200] >= 40, 5)
        # The fetch start() queued (the file watch's catch-up) may still be writing into the clone:
        # rmtree or the garbage writes would race with it. Wait for it; the load goes on meanwhile.
        await server.app[GIT].refresh()
        old = server.app[GIT].repository.gitdir
        damage(old)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: rebuilt\n"})

        async def serves_rebuilt() -> bool:
            async with aiohttp.ClientSession() as http, http.get(server.url + "/orders/default") as resp:
                return resp.status == 200 and "rebuilt" in await resp.text()

        async with asyncio.timeout(10):
            while not await serves_rebuilt():
                await asyncio.sleep(0.05)
        seen = statuses.total()
        await wait_until(lambda: statuses.total() >= seen + 40, 5)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert set(statuses) == {200}, statuses
    assert server.app[GIT].repository.gitdir != old and server.app[GIT].status.broken is None


async def test_force_push_wakes_only_watchers_whose_content_changed(
    server: LiveServer, git_remote: GitRemote
) -> None:
    """A force-push that rewrites history serves the new head, wakes billing (changed) and leaves
    orders (same content, other commit) waiting."""
    base = git_remote.head()
    second = git_remote.write({"billing.yml": "limit: 2\n"})
    await wait_until(lambda: server.app[GIT].repository.lookup(None) == second, 5)
    orders_changes, billing_changes = ChangeLog(), ChangeLog()
    async with (
        AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as orders,
        AsyncConfigClient(server.url, application="billing", long_poll_wait=30) as billing,
    ):
        orders.on_change(orders_changes)
        billing.on_change(billing_changes)
        live = server.app[LIVE]
        assert live is not None
        await wait_until(lambda: live.hub.watcher_count() >= 2, 5)
        git(git_remote.work, "reset", "-q", "--hard", base)
        rewritten = await asyncio.to_thread(git_remote.write, {"billing.yml": "limit: 3\n"})
        _, event = await billing_changes.next(5)
        assert event.changed == {"limit": (2, 3)} and event.version == rewritten
        await asyncio.sleep(0.3)
        assert orders_changes.events == [] and orders["greeting"] == "hello"
    assert await server.app[GIT].resolve(None) == rewritten


async def test_deleted_branch_is_404_and_moved_tag_is_followed(
    server: LiveServer, git_remote: GitRemote
) -> None:
    """Over HTTP: a branch deleted at the remote answers 404, a tag moved at the remote serves its
    new commit, and a commit a force-push removed answers 404 saying why."""
    first = git_remote.head()
    git(git_remote.work, "push", "-q", "origin", "HEAD:refs/heads/feature")
    git_remote.tag("live", first)
    await wait_until(lambda: server.app[GIT].repository.lookup("live") == first, 5)

    async def get(path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(server.url + path) as resp:
            return resp.status, await resp.text()

    assert (await get("/orders/default/feature"))[0] == 200
    removed = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: moved\n"})
    await wait_until(lambda: server.app[GIT].repository.lookup(None) == removed, 5)
    assert (await get(f"/orders/default/{removed}"))[0] == 200
    git(git_remote.work, "push", "-q", "origin", "--delete", "feature")
    git(git_remote.work, "reset", "-q", "--hard", first)
    second = await asyncio.to_thread(git_remote.write, {"orders.yml": "greeting: tagged\n"})
    git_remote.tag("live", second)
    await wait_until(lambda: server.app[GIT].repository.lookup("live") == second, 5)
    await wait_until(lambda: server.app[GIT].repository.lookup("feature") is None, 5)
    assert (await get("/orders/default/feature"))[0] == 404
    status, body = await get("/orders/default/live")
    assert status == 200 and "tagged" in body
    status, body = await get(f"/orders/default/{removed}")
    assert status == 404 and "not reachable from any branch or tag" in body


async def test_history_settings_reach_the_clone(git_remote: GitRemote, tmp_path: Path) -> None:
    """git_shallow and serve_unreachable_commits are wired from Settings to the clone."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    git_remote.write({"orders.yml": "greeting: hi\n"})
    settings = local_settings(
        git_remote.uri, tmp_path / "clone", git_shallow=True, serve_unreachable_commits=True
    )
    live = LiveServer(settings)
    await live.start()
    try:
        repository = live.app[GIT].repository
        assert repository.shallow and repository.serve_unreachable
        assert (repository.gitdir / "shallow").is_file()
    finally:
        await live.stop()
