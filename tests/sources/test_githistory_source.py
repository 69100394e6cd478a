"""Specification of GitSource over rewritten history and a damaged clone: commit ids served from
memory, forgotten after a rewrite, fetched on demand when shallow, and health telling the truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_server.errors import LabelNotFound, Unavailable
from config_server.sources.git.files import GitConfigSource
from config_server.sources.git.source import GitSource
from tests.sources.conftest import MakeSource
from tests.support.gitrepo import GitRemote, git


async def test_resolved_commit_id_needs_no_git(git_remote: GitRemote, make_source: MakeSource) -> None:
    """A full commit id resolved once still resolves with the clone gone (no git run)."""
    old = git_remote.write({"a.yml": "a: 1\n"})
    git_remote.write({"a.yml": "a: 2\n"})
    source = await make_source(git_remote.uri)
    assert await source.resolve(old) == old
    await _delete_clone(source)
    assert await source.resolve(old) == old


async def test_an_abbreviated_commit_id_needs_no_git_until_refs_move(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """A short commit id resolved once resolves with the clone gone; after a fetch that moved refs
    (new objects may make it ambiguous) it is asked of git again."""
    old = git_remote.write({"a.yml": "a: 1\n"})
    git_remote.write({"a.yml": "a: 2\n"})
    source = await make_source(git_remote.uri)
    assert await source.resolve(old[:7]) == old
    await _delete_clone(source)
    assert await source.resolve(old[:7]) == old
    git_remote.write({"a.yml": "a: 3\n"})
    await source.refresh()  # rebuilds the clone and moves main
    await _delete_clone(source)
    with pytest.raises(Unavailable):
        await source.resolve(old[:7])  # forgotten when main moved: git is asked, the clone is gone


async def test_rewrite_forgets_resolved_commit_ids(git_remote: GitRemote, make_source: MakeSource) -> None:
    """A commit id served from memory stops being served once a force-push removed it."""
    base = git_remote.write({"a.yml": "a: 1\n"})
    leaked = git_remote.write({"a.yml": "secret: 1\n"})
    source = await make_source(git_remote.uri)
    assert await source.resolve(leaked) == leaked
    git(git_remote.work, "reset", "-q", "--hard", base)
    git_remote.write({"a.yml": "a: 2\n"})
    await source.refresh()
    with pytest.raises(LabelNotFound, match="not reachable from any branch or tag"):
        await source.resolve(leaked)


async def test_shallow_source_fetches_an_old_commit_on_demand(
    git_remote: GitRemote, make_source: MakeSource
) -> None:
    """With shallow, a commit-id label outside the fetched history is fetched when asked for."""
    old = git_remote.write({"a.yml": "a: 1\n"})
    git_remote.write({"a.yml": "a: 2\n"})
    source = await make_source(git_remote.uri, shallow=True)
    tree = await source.tree(await source.resolve(old))
    assert await source.read_blob(tree.files["a.yml"]) == b"a: 1\n"
    with pytest.raises(LabelNotFound, match="refuses"):
        await source.resolve("1" * 40)
    assert source.repository.refused("1" * 40)


async def test_health_reports_a_broken_clone_and_the_disk(
    git_remote: GitRemote, make_source: MakeSource, tmp_path: Path
) -> None:
    """A clone gone while the remote is down is DOWN but not essential (served from memory), and
    says why; the disk's free bytes are in the details; a rebuild makes it UP again."""
    git_remote.write({"a.yml": "a: 1\n"})
    source = await make_source(git_remote.uri)
    files = GitConfigSource(git=source)
    health = await files.health()
    assert health.status == "UP" and health.details["clone"] == "ok"
    assert isinstance(health.details["disk_free_bytes"], int) and health.details["low_disk"] is False
    await _delete_clone(source)
    away = git_remote.bare.rename(tmp_path / "away.git")
    await source.refresh()
    health = await files.health()
    assert health.status == "DOWN" and not health.essential
    assert str(health.details["clone"]).startswith("rebuilding: ")
    with pytest.raises(Unavailable):
        await source.resolve("0" * 40)  # nothing to read: 503, never "No such label"
    away.rename(git_remote.bare)
    await source.refresh()
    assert (await files.health()).status == "UP"


async def _delete_clone(source: GitSource) -> None:
    """Take the clone away as a tmp cleaner would. Moved out in one rename, not rmtree'd: the fetch
    start()'s catch-up queued may still be writing objects, and rmtree would race with it."""
    await source.refresh()
    gitdir = source.repository.gitdir
    gitdir.rename(gitdir.parent.parent / f"deleted-{gitdir.name}")
