"""Long-poll watch: If-None-Match + Prefer: wait holds the request until the content changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from config_server import components
from config_server.components import GIT, LIVE, SERVICE
from config_server.http.app import RUNNER_OPTIONS, create_app
from config_server.service import EnvironmentService
from config_server.settings import Settings
from tests.http.conftest import Serve, app_of
from tests.support.gitrepo import GitRemote
from tests.support.memory_source import MemorySource


async def test_push_wakes_a_held_request(git_remote: GitRemote, serve: Serve) -> None:
    """A git push to a local repository answers a held watch with the new body, in well under a second."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    first = await client.get("/foo/default")
    etag = first.headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=20"})
    )
    await asyncio.sleep(0.3)
    assert not held.done()
    start = time.monotonic()
    await asyncio.to_thread(git_remote.write, {"foo.yml": "a: 2\n"})
    resp = await asyncio.wait_for(held, 10)
    elapsed = time.monotonic() - start
    assert resp.status == 200
    assert resp.headers["Preference-Applied"] == "wait=20"
    assert resp.headers["ETag"] != etag
    assert (await resp.json())["propertySources"][0]["source"]["a"] == 2
    assert elapsed < 3.0


async def test_changed_etag_answers_at_once(git_remote: GitRemote, serve: Serve) -> None:
    """A watch whose ETag is already out of date gets the current body immediately."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    start = time.monotonic()
    resp = await client.get("/foo/default", headers={"If-None-Match": '"old"', "Prefer": "wait=30"})
    assert resp.status == 200 and time.monotonic() - start < 2


async def test_wait_ends_with_304(git_remote: GitRemote, serve: Serve) -> None:
    """When nothing changes the held request ends with 304 after the wait."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    start = time.monotonic()
    resp = await client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=1"})
    assert resp.status == 304
    assert 0.9 <= time.monotonic() - start < 5


async def test_unrelated_commit_wakes_nobody(git_remote: GitRemote, serve: Serve) -> None:
    """A commit that does not change foo's configuration does not answer foo's watch."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=2"})
    )
    await asyncio.sleep(0.2)
    await asyncio.to_thread(git_remote.write, {"bar.yml": "b: 1\n"})
    resp = await asyncio.wait_for(held, 10)
    assert resp.status == 304


async def test_broken_push_never_wakes_watchers(git_remote: GitRemote, serve: Serve) -> None:
    """A push with invalid YAML keeps watchers waiting on their last good configuration."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=2"})
    )
    await asyncio.sleep(0.2)
    await asyncio.to_thread(git_remote.write, {"foo.yml": "a: [broken\n"})
    resp = await asyncio.wait_for(held, 10)
    assert resp.status == 304
    assert (await client.get("/foo/default")).status == 500


async def test_without_prefer_wait_behaves_as_before(git_remote: GitRemote, serve: Serve) -> None:
    """Spring clients never send Prefer: wait, so If-None-Match alone answers 304 at once."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    resp = await client.get("/foo/default", headers={"If-None-Match": etag})
    assert resp.status == 304 and "Preference-Applied" not in resp.headers


async def test_many_watchers_all_receive_one_change(git_remote: GitRemote, serve: Serve) -> None:
    """1,000 concurrent watchers of one service all get the new configuration from one push."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    headers = {"If-None-Match": etag, "Prefer": "wait=30"}
    watchers = [asyncio.ensure_future(client.get("/foo/default", headers=headers)) for _ in range(1000)]
    await asyncio.sleep(1.0)
    await asyncio.to_thread(git_remote.write, {"foo.yml": "a: 2\n"})
    responses = await asyncio.wait_for(asyncio.gather(*watchers), 30)
    assert all(r.status == 200 for r in responses)
    assert len({r.headers["ETag"] for r in responses}) == 1


async def test_watch_bookkeeping_is_dropped_when_watchers_leave(git_remote: GitRemote, serve: Serve) -> None:
    """Memory is bounded by what is being watched: a finished watch leaves nothing behind."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    for app in ("foo", "bar", "baz"):
        etag = (await client.get(f"/{app}/default")).headers["ETag"]
        resp = await client.get(f"/{app}/default", headers={"If-None-Match": etag, "Prefer": "wait=0.2"})
        assert resp.status == 304
    live = app_of(client)[LIVE]
    assert live is not None
    assert live.hub.watcher_count() == 0
    assert all(live.hub.current(key) is None for key in list(live._watches)) and not live._watches


async def test_a_client_that_disconnects_frees_its_watcher(git_remote: GitRemote, serve: Serve) -> None:
    """Closing the connection during a long poll removes the watcher at once, not after the wait."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    held = asyncio.ensure_future(
        client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=60"})
    )
    live = app_of(client)[LIVE]
    assert live is not None
    for _ in range(50):
        await asyncio.sleep(0.05)
        if live.hub.watcher_count() == 1:
            break
    assert live.hub.watcher_count() == 1
    held.cancel()  # the client gives up: aiohttp closes the connection
    for _ in range(40):
        await asyncio.sleep(0.05)
        if live.hub.watcher_count() == 0:
            break
    assert live.hub.watcher_count() == 0
    assert not live._watches


async def test_a_cancelled_caller_does_not_cancel_shared_work() -> None:
    """Single flight: the first caller going away leaves the computation running for the others."""
    from config_server.caching import SingleFlight

    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return 42

    first = asyncio.ensure_future(flight.do("k", work))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(flight.do("k", work))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == 42
    assert calls == 1


async def test_a_push_during_the_first_computation_still_wakes_the_watch(
    git_remote: GitRemote, serve: Serve
) -> None:
    """A fetch that lands while a watch's first response is computed (so that fetch saw no
    watcher to recompute) still reaches the watch at once, not at the end of its wait."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    service = app_of(client)[SERVICE]
    etag = (await client.get("/foo/default")).headers["ETag"]
    original = service.environment
    pushed = False

    async def push_meanwhile(req: Any, *, token: str | None = None) -> Any:
        nonlocal pushed
        reps = await original(req, token=token)
        if not pushed:  # the watch's own computation: old commit, then the push and its fetch
            pushed = True
            await asyncio.to_thread(git_remote.write, {"foo.yml": "a: 2\n"})
            await app_of(client)[GIT].refresh()
        return reps

    service.environment = push_meanwhile  # type: ignore[method-assign]
    start = time.monotonic()
    resp = await client.get("/foo/default", headers={"If-None-Match": etag, "Prefer": "wait=20"})
    assert resp.status == 200 and resp.headers["ETag"] != etag
    assert (await resp.json())["propertySources"][0]["source"]["a"] == 2
    assert time.monotonic() - start < 10


async def test_a_change_is_computed_once_per_key_not_per_watcher(
    git_remote: GitRemote, aiohttp_client: Any, tmp_path: Path
) -> None:
    """With a source that is never cached (Vault), 80 watchers of one key cost one read per change.

    (80: under the test client's 100 connections, so all of them are held at once.)
    """
    git_remote.write({"foo.yml": "a: 1\n"})
    # The same server with an unpinned source (read on every request, like Vault) ahead of git:
    # a resource of its own, composed in before live updates start.
    secrets = MemorySource("secrets", pinned=False)

    async def with_secrets(app: web.Application) -> AsyncIterator[None]:
        app[SERVICE] = EnvironmentService(sources=[secrets, *app[SERVICE].sources])
        yield

    app = create_app(Settings(repo=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600))
    app.cleanup_ctx.insert(app.cleanup_ctx.index(components._live), with_secrets)
    client = await aiohttp_client(app, server_kwargs=RUNNER_OPTIONS)
    live = app[LIVE]
    etag = (await client.get("/foo/default")).headers["ETag"]
    headers = {"If-None-Match": etag, "Prefer": "wait=30"}
    watchers = [asyncio.ensure_future(client.get("/foo/default", headers=headers)) for _ in range(80)]
    while live.hub.watcher_count() < 80:
        await asyncio.sleep(0.05)
    before = len(secrets.reads)
    await asyncio.to_thread(git_remote.write, {"foo.yml": "a: 2\n"})
    responses = await asyncio.wait_for(asyncio.gather(*watchers), 30)
    assert all(r.status == 200 for r in responses)
    assert len(secrets.reads) - before <= 2, len(secrets.reads) - before


async def test_prefer_wait_in_a_second_header_line_is_honoured(git_remote: GitRemote, serve: Serve) -> None:
    """Prefer may come as several header lines (RFC 7240): wait=1 in the second one still holds."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote)
    etag = (await client.get("/foo/default")).headers["ETag"]
    headers = CIMultiDict([("If-None-Match", etag), ("Prefer", "respond-async"), ("Prefer", "wait=1")])
    start = time.monotonic()
    resp = await client.get("/foo/default", headers=headers)
    assert resp.status == 304 and resp.headers["Preference-Applied"] == "wait=1"
    assert time.monotonic() - start >= 0.9
