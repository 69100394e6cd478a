"""Specification of the clone as production treats it: rewritten history, a damaged or deleted
clone, old-layout basedirs, private basedirs and shallow clones."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from config_server.errors import LabelNotFound
from config_server.sources.git.layout import CURRENT, MARKER, generations
from config_server.sources.git.repository import GitRepository
from tests.sources.conftest import OpenRepo
from tests.support.gitrepo import GitRemote, git


def read(repo: GitRepository, label: str | None, path: str) -> str:
    """The text of ``path`` at ``label``, the way the service layer reads it."""
    tree = repo.tree(repo.resolve(label))
    return repo.read_blob(tree.files[path]).decode("utf-8")


def has_object(repo: GitRepository, sha: str) -> bool:
    """Whether the clone still holds the object ``sha`` (asked of git directly)."""
    found = subprocess.run(
        ["git", "--git-dir", str(repo.gitdir), "cat-file", "-e", sha], capture_output=True, check=False
    )
    return found.returncode == 0


def rewrite(remote: GitRemote, onto: str, files: dict[str, str]) -> str:
    """Force-push a new commit on ``onto`` in place of the branch's later history."""
    git(remote.work, "reset", "-q", "--hard", onto)
    return remote.write(files)


def test_basedir_is_created_private(git_remote: GitRemote, open_repo: OpenRepo, tmp_path: Path) -> None:
    """A new basedir is 0700, and a generation inside it too: clones of private repositories."""
    git_remote.write({"a": "1"})
    repo = open_repo(git_remote.uri, basedir=tmp_path / "new" / "clone")
    assert stat.S_IMODE(repo.basedir.stat().st_mode) == 0o700
    assert stat.S_IMODE(repo.gitdir.stat().st_mode) == 0o700


def test_existing_basedir_of_ours_is_tightened(git_remote: GitRemote, tmp_path: Path) -> None:
    """A basedir this server made earlier with a looser mode is made 0700 at the next open."""
    git_remote.write({"a": "1"})
    basedir = tmp_path / "clone"
    first = GitRepository(uri=git_remote.uri, basedir=basedir)
    first.open()
    first.close()
    basedir.chmod(0o755)
    again = GitRepository(uri=git_remote.uri, basedir=basedir)
    again.open()
    again.close()
    assert stat.S_IMODE(basedir.stat().st_mode) == 0o700


def test_old_layout_clone_is_moved_into_a_generation(git_remote: GitRemote, tmp_path: Path) -> None:
    """A clone from an earlier version (the repository in basedir itself) is reused, not re-cloned."""
    head = git_remote.write({"a.yml": "a: 1\n"})
    basedir = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--bare", git_remote.path, str(basedir))
    git(basedir, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
    (basedir / MARKER).write_text(git_remote.uri + "\n")
    pack_inode = (basedir / "objects").stat().st_ino
    repo = GitRepository(uri=git_remote.uri, basedir=basedir)
    repo.open()
    try:
        assert repo.gitdir == basedir / "clone-1" and (repo.gitdir / "objects").stat().st_ino == pack_inode
        assert (basedir / CURRENT).read_text().strip() == "clone-1"
        assert sorted(p.name for p in basedir.iterdir()) == sorted([MARKER, CURRENT, "clone-1"])
        assert repo.resolve(None) == head
    finally:
        repo.close()


def test_corrupt_objects_are_rebuilt_in_a_fresh_generation(
    git_remote: GitRemote, open_repo: OpenRepo
) -> None:
    """Garbage over every object file: the next fetch clones afresh beside it, swaps, then the old
    generation is deleted once the reader moved over."""
    git_remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(git_remote.uri)
    old = repo.gitdir
    for path in (old / "objects").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.write_bytes(b"garbage" * 10)
    head = git_remote.write({"a.yml": "a: 2\n"})
    repo.fetch()
    assert repo.gitdir != old and repo.status.last_error is None and repo.status.broken is None
    assert (repo.basedir / CURRENT).read_text().strip() == repo.gitdir.name
    assert repo.resolve(None) == head and read(repo, None, "a.yml") == "a: 2\n"
    assert generations(repo.basedir) == [repo.gitdir]


def test_damaged_head_and_config_are_rebuilt(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """With HEAD and config overwritten the clone is not a repository any more: it is made again."""
    git_remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(git_remote.uri)
    (repo.gitdir / "HEAD").write_text("nonsense")
    (repo.gitdir / "config").write_text("[[[ nonsense")
    git_remote.write({"a.yml": "a: 2\n"})
    repo.fetch()
    assert read(repo, None, "a.yml") == "a: 2\n" and repo.status.last_error is None


def test_damaged_clone_with_the_remote_down_says_so(
    git_remote: GitRemote, open_repo: OpenRepo, tmp_path: Path
) -> None:
    """A clone that is gone while the remote is unreachable is reported broken until it is rebuilt."""
    git_remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(git_remote.uri)
    shutil.rmtree(repo.gitdir)
    away = git_remote.bare.rename(tmp_path / "away.git")
    with pytest.raises(Exception, match="git fetch failed"):
        repo.fetch()
    assert repo.status.broken and "lacks" in repo.status.broken and repo.has_data
    away.rename(git_remote.bare)
    repo.fetch()
    assert repo.status.broken is None and read(repo, None, "a.yml") == "a: 1\n"


def test_force_pushed_away_commit_is_not_served_and_is_pruned(
    git_remote: GitRemote, open_repo: OpenRepo
) -> None:
    """A commit a force-push removed is LabelNotFound by full id and by prefix, saying why, and its
    objects leave the clone."""
    base = git_remote.write({"a.yml": "a: 1\n"})
    leaked = git_remote.write({"a.yml": "password: hunter2\n"})
    repo = open_repo(git_remote.uri)
    leaked_blob = repo.tree(leaked).files["a.yml"]
    assert repo.resolve(leaked) == leaked
    rewrite(git_remote, base, {"a.yml": "a: 2\n"})
    repo.fetch()
    for label in (leaked, leaked[:7]):
        with pytest.raises(LabelNotFound) as caught:
            repo.resolve(label)
        assert "not reachable from any branch or tag of the remote" in caught.value.message
    assert not has_object(repo, leaked) and not has_object(repo, leaked_blob)
    assert repo.resolve(base) == base  # still reachable: still served


def test_serve_unreachable_keeps_rewritten_commits(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """With serve_unreachable, a force-pushed-away commit is still served and kept."""
    base = git_remote.write({"a.yml": "a: 1\n"})
    old = git_remote.write({"a.yml": "a: 2\n"})
    repo = open_repo(git_remote.uri, serve_unreachable=True)
    rewrite(git_remote, base, {"a.yml": "a: 3\n"})
    repo.fetch()
    assert repo.resolve(old) == old and read(repo, old, "a.yml") == "a: 2\n"


def test_deleted_tag_makes_its_only_commit_unreachable(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A commit only a deleted tag reached is no longer served."""
    base = git_remote.write({"a": "1"})
    tagged = git_remote.write({"a": "2"})
    git_remote.tag("release", tagged)
    git(git_remote.work, "reset", "-q", "--hard", base)
    git_remote.push()
    repo = open_repo(git_remote.uri)
    assert repo.resolve(tagged) == tagged
    git(git_remote.work, "push", "-q", "origin", "--delete", "refs/tags/release")
    assert repo.fetch() == {"refs/tags/release": (tagged, None)}
    with pytest.raises(LabelNotFound, match="not reachable"):
        repo.resolve(tagged)


@pytest.fixture
def history(git_remote: GitRemote) -> list[str]:
    """Three commits on main, oldest first."""
    return [git_remote.write({"a.yml": f"a: {n}\n"}) for n in range(3)]


def test_shallow_clone_fetches_only_the_tips(
    git_remote: GitRemote, open_repo: OpenRepo, history: list[str]
) -> None:
    """With shallow, branches are fetched with depth 1: older commits are not in the clone."""
    repo = open_repo(git_remote.uri, shallow=True)
    assert (repo.gitdir / "shallow").is_file()
    assert has_object(repo, history[-1]) and not has_object(repo, history[0])
    assert read(repo, None, "a.yml") == "a: 2\n"


def test_shallow_fetches_an_older_commit_on_demand(
    git_remote: GitRemote, open_repo: OpenRepo, history: list[str]
) -> None:
    """A commit outside the shallow history is fetched by id (a host allowing it, git's protocol v2)."""
    repo = open_repo(git_remote.uri, shallow=True)
    with pytest.raises(LabelNotFound):
        repo.resolve(history[0])
    repo.fetch_commit(history[0])
    assert read(repo, history[0], "a.yml") == "a: 0\n"


@pytest.fixture
def protocol_v0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git speaking only protocol v0, where hosts refuse unadvertised objects unless configured."""
    config = tmp_path / "gitconfig"
    config.write_text("[protocol]\n\tversion = 0\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))


@pytest.mark.usefixtures("protocol_v0")
def test_shallow_commit_a_host_refuses_is_not_found_and_remembered(
    git_remote: GitRemote, open_repo: OpenRepo, history: list[str]
) -> None:
    """A host that refuses unadvertised objects gives LabelNotFound naming why, asked only once."""
    repo = open_repo(git_remote.uri, shallow=True)
    with pytest.raises(LabelNotFound, match="refuses to send it"):
        repo.fetch_commit(history[0])
    assert repo.refused(history[0])
    os.environ["GIT_CONFIG_GLOBAL"] = "/nonexistent/so/any/git/run/would/differ"
    with pytest.raises(LabelNotFound, match="refuses to send it"):
        repo.fetch_commit(history[0])  # answered from memory: git is not run again


@pytest.mark.usefixtures("protocol_v0")
def test_shallow_with_allow_reachable_sha1_in_want(
    git_remote: GitRemote, open_repo: OpenRepo, history: list[str]
) -> None:
    """uploadpack.allowReachableSHA1InWant: a reachable old commit is fetched, an unreachable one refused."""
    git(git_remote.bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
    git(git_remote.work, "checkout", "-q", "-b", "side", history[0])
    dangling = git_remote.write({"a.yml": "side\n"}, push=False)
    git(git_remote.work, "push", "-q", "origin", "side")
    git(git_remote.work, "push", "-q", "origin", "--delete", "side")
    repo = open_repo(git_remote.uri, shallow=True)
    repo.fetch_commit(history[0])
    assert read(repo, history[0], "a.yml") == "a: 0\n"
    with pytest.raises(LabelNotFound, match="refuses"):
        repo.fetch_commit(dangling)


@pytest.mark.usefixtures("protocol_v0")
def test_shallow_with_allow_any_sha1_in_want(
    git_remote: GitRemote, open_repo: OpenRepo, history: list[str]
) -> None:
    """uploadpack.allowAnySHA1InWant: an old commit is fetched on demand even over protocol v0."""
    git(git_remote.bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    repo = open_repo(git_remote.uri, shallow=True)
    repo.fetch_commit(history[1])
    assert read(repo, history[1], "a.yml") == "a: 1\n"
