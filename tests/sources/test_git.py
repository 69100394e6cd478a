"""Specification of GitSource, the async seam: served from memory, fetched in the background."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config_server.errors import InvalidRequest, LabelNotFound, Unavailable
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.source import GitSource, Moved
from tests.sources.conftest import MakeSource
from tests.support.gitrepo import GitRemote, git


async def read(source: GitSource, label: str | None, path: str) -> str:
    """The text of ``path`` at ``label``, the way the service layer reads it."""
    tree = await source.tree(await source.resolve(label))
    return (await source.read_blob(tree.files[path])).decode("utf-8")


def recorder() -> tuple[asyncio.Queue[Moved], Callable[[Moved], None]]:
    """A listener that queues what it hears."""
    heard: asyncio.Queue[Moved] = asyncio.Queue()
    return heard, heard.put_nowait


async def test_serves_files_by_label(git_remote: GitRemote, make_source: MakeSource) -> None:
    """After start(), labels resolve and files read, and display_uri names the remote."""
    old = git_remote.write({"application.yml": "a: 1\n"})
    git_remote.write({"application.yml": "a: 2\n"})
    source = await make_source(git_remote.uri)
    assert source.display_uri == git_remote.uri
    assert await read(source, None, "application.yml") == "a: 2\n"
    assert await read(source, old[:8], "application.yml") == "a: 1\n"
    assert source.status.last_success is not None and source.status.last_error is None


async def test_trees_and_blobs_come_from_memory_once_read(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """A tree or blob is read from git once; later (and concurrent) requests share that result."""
    commit = git_remote.write({"a.yml": "a: 1\n"})
    source = await make_source(git_remote.uri)
    trees = await asyncio.gather(*(source.tree(commit) for _ in range(20)))
    assert all(tree is trees[0] for tree in trees)
    assert await source.tree(commit) is trees[0]
    blob = trees[0].files["a.yml"]
    assert await source.read_blob(blob) is await source.read_blob(blob)


async def test_start_without_remote_or_clone_is_unavailable(tmp_path: Path) -> None:
    """start() raises Unavailable when nothing can be cloned, and leaves no worker threads behind."""
    source = GitSource(uri=str(tmp_path / "missing.git"), basedir=tmp_path / "clone")
    with pytest.raises(Unavailable, match=r"missing\.git"):
        await source.start()
    assert not [t for t in threading.enumerate() if t.name.startswith(("git-read", "git-fetch"))]


async def test_hostile_labels_are_invalid_requests(
    git_remote: GitRemote, make_source: MakeSource, tmp_path: Path
) -> None:
    """Option-like or escaping labels raise InvalidRequest and run nothing."""
    git_remote.write({"a": "1"})
    source = await make_source(git_remote.uri)
    marker = tmp_path / "x"
    for label in (f"--upload-pack=touch {marker}", "../../etc/passwd", f"-oProxyCommand=touch {marker}"):
        with pytest.raises(InvalidRequest):
            await source.resolve(label)
    with pytest.raises(InvalidRequest):
        await source.tree("--output=" + str(marker))
    await source.refresh()
    assert not marker.exists()


async def test_unknown_label_is_label_not_found(git_remote: GitRemote, make_source: MakeSource) -> None:
    """Unknown branch names and unknown commit ids are LabelNotFound."""
    git_remote.write({"a": "1"})
    source = await make_source(git_remote.uri)
    for label in ("nope", "abcdef12"):
        with pytest.raises(LabelNotFound):
            await source.resolve(label)


async def test_listeners_hear_moved_refs_after_a_fetch(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """refresh() returns the moved refs and calls every listener, sync or async, even if one fails."""
    first = git_remote.write({"a": "1"})
    source = await make_source(git_remote.uri)
    heard, listener = recorder()
    heard_async: list[Moved] = []

    async def async_listener(moved: Moved) -> None:
        heard_async.append(moved)

    def broken(moved: Moved) -> None:
        raise RuntimeError("listener bug")

    for callback in (broken, listener, async_listener):
        source.add_listener(callback)
    assert await source.refresh() == {}
    second = git_remote.write({"a": "2"})
    expected = {"refs/heads/main": (first, second)}
    assert await source.refresh() == expected
    assert heard.get_nowait() == expected and heard_async == [expected]
    assert heard.empty()


async def test_refresh_with_the_remote_gone_keeps_serving(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """refresh() never raises: the error lands in status and the last fetched state is served."""
    git_remote.write({"a.yml": "a: 1\n"})
    source = await make_source(git_remote.uri)
    succeeded = source.status.last_success
    git_remote.bare.rename(git_remote.root / "away.git")
    assert await source.refresh() == {}
    assert source.status.last_error and source.status.last_success == succeeded
    assert await read(source, "main", "a.yml") == "a: 1\n"


async def test_local_push_is_seen_without_waiting_for_refresh(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """For a remote on this host, a push is fetched at once (watchfiles), not after refresh_rate."""
    first = git_remote.write({"a": "1"})
    source = await make_source(git_remote.uri, refresh_rate=3600)
    heard, listener = recorder()
    source.add_listener(listener)
    second = git_remote.write({"a": "2"})
    pushed = time.monotonic()
    moved = await asyncio.wait_for(heard.get(), timeout=5)
    assert moved == {"refs/heads/main": (first, second)}
    assert time.monotonic() - pushed < 1.5
    assert await source.resolve(None) == second


async def test_commits_in_a_local_working_repository_are_seen_at_once(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """A non-bare local repository is watched through its .git directory: a commit is enough."""
    git_remote.write({"a": "1"}, push=False)
    source = await make_source(str(git_remote.work), refresh_rate=3600)
    heard, listener = recorder()
    source.add_listener(listener)
    second = git_remote.write({"a": "2"}, push=False)
    moved = await asyncio.wait_for(heard.get(), timeout=5)
    assert moved["refs/heads/main"][1] == second


async def test_periodic_refresh_fetches_every_refresh_rate(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """With refresh_rate set, fetches repeat on their own, with no push to trigger them."""
    git_remote.write({"a": "1"})
    source = await make_source(git_remote.uri, refresh_rate=0.05)
    attempts: set[object] = set()
    deadline = time.monotonic() + 5
    while len(attempts) < 4 and time.monotonic() < deadline:
        attempts.add(source.status.last_attempt)
        await asyncio.sleep(0.02)
    assert len(attempts) >= 4


async def test_fifty_concurrent_reads_succeed_while_fetching(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """Reads of 50 different labels, racing a fetch, all return their own label's content."""
    git_remote.write({"n.yml": "n: main\n"})
    stream = "".join(
        f"commit refs/heads/b{i}\ncommitter T <t@example.com> 1700000000 +0000\ndata 1\nx\n"
        f"M 644 inline n.yml\ndata {len(f'n: {i}') + 1}\nn: {i}\n\n"
        for i in range(50)
    )  # one fast-import instead of 50 commits keeps this test fast
    subprocess.run(["git", "fast-import", "--quiet"], cwd=git_remote.work, input=stream.encode(), check=True)
    git(git_remote.work, "push", "-q", "origin", "--all")
    source = await make_source(git_remote.uri)
    git_remote.write({"n.yml": "n: new\n"})
    reads = [read(source, f"b{i}", "n.yml") for i in range(50)]
    results = await asyncio.gather(source.refresh(), *reads)
    assert results[1:] == [f"n: {i}\n" for i in range(50)]
    assert await read(source, None, "n.yml") == "n: new\n"


@pytest.fixture
def git_daemon(git_remote: GitRemote) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``git daemon`` serving git_remote over git://; yields (uri, process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            # The daemon itself, not the ``git`` wrapper, so that SIGSTOP really freezes it.
            str(Path(git(git_remote.root, "--exec-path")) / "git-daemon"),
            "--export-all",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={git_remote.root}",
            str(git_remote.root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("git daemon did not start")
        time.sleep(0.02)
    yield f"git://127.0.0.1:{port}/remote.git", proc
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    proc.wait(timeout=5)


async def test_a_hung_remote_never_delays_requests(
    git_remote: GitRemote,
    git_daemon: tuple[str, subprocess.Popen[bytes]],
    make_source: MakeSource,
) -> None:
    """While a fetch hangs on an unresponsive remote, reads answer at once; the fetch is killed."""
    old = git_remote.write({"a.yml": "a: old\n"})
    git_remote.write({"a.yml": "a: new\n"})
    uri, daemon = git_daemon
    source = await make_source(uri, access=RemoteAccess(timeout=3.0))
    daemon.send_signal(signal.SIGSTOP)  # accepts connections (kernel backlog) but never answers
    fetch = asyncio.create_task(source.refresh())
    await asyncio.sleep(0.1)
    started = time.monotonic()
    assert await read(source, old[:10], "a.yml") == "a: old\n"  # needs the reader thread
    assert await read(source, "main", "a.yml") == "a: new\n"
    # Well inside the fetch's 3 s: a read that waited for the fetch would come after its end.
    assert time.monotonic() - started < 2.0 and not fetch.done(), source.status
    assert await fetch == {}
    assert "timed out after 3s" in (source.status.last_error or "")


async def test_close_stops_the_workers(git_remote: GitRemote, tmp_path: Path) -> None:
    """After close() no worker thread remains and the source refuses further reads."""
    git_remote.write({"a": "1"})
    source = GitSource(uri=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=0.05)
    await source.start()
    await read(source, None, "a")
    await source.close()
    await asyncio.sleep(0)
    assert not [t for t in threading.enumerate() if t.name.startswith(("git-read", "git-fetch"))]
    with pytest.raises(RuntimeError):
        await source.tree("0" * 40)


async def test_close_right_after_start_always_returns(git_remote: GitRemote, tmp_path: Path) -> None:
    """close() returns promptly whichever loop step it lands on after start() (the wake race)."""
    git_remote.write({"a": "1"})
    # start() leaves a wake pending for the refresh loop; a cancel that lands in the few loop steps
    # it takes that wait to finish is the one Python 3.11's asyncio.wait_for used to swallow.
    for steps in range(8):
        source = GitSource(uri=git_remote.uri, basedir=tmp_path / "clone", refresh_rate=3600)
        await source.start()
        for _ in range(steps):
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(5):  # under close()'s own 10 s backstop, so a hang fails here
                await source.close()
        except TimeoutError:
            pytest.fail(f"close() hung when called {steps} loop steps after start()")


async def test_a_burst_of_refreshes_costs_one_running_fetch_and_one_waiting(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """50 webhooks at once share fetches: the one running and one queued after it, not 50; and the
    queued one still sees a push made while the first was running."""
    git_remote.write({"a.yml": "a: 1\n"})
    source = await make_source(git_remote.uri, refresh_rate=0)
    fetches = 0
    real_fetch = source.repository.fetch

    def counting_fetch() -> Moved:
        nonlocal fetches
        fetches += 1
        time.sleep(0.2)  # on the fetcher thread: long enough for the burst to pile up
        return real_fetch()

    source.repository.fetch = counting_fetch  # type: ignore[method-assign]
    first = asyncio.ensure_future(source.refresh())
    await asyncio.sleep(0.05)  # the first fetch is running
    sha = git_remote.write({"a.yml": "a: 2\n"})
    burst = await asyncio.gather(*(source.refresh() for _ in range(50)))
    await first
    assert 2 <= fetches <= 3  # 3 if the remote's watcher woke the refresh loop after the queued one began
    assert all(moved == burst[0] for moved in burst)
    assert source.repository.lookup(None) == sha
