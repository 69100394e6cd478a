"""Specification of GitRepository: a bare clone read straight from git objects, kept in step by fetch."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config_server.errors import (
    InvalidConfiguration,
    InvalidRequest,
    LabelNotFound,
    ResourceNotFound,
    Unavailable,
)
from config_server.http.errors import status_of
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repository import MARKER, GitRepository, GitStatus
from tests.sources.conftest import OpenRepo
from tests.support.gitrepo import GitRemote, git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def read(repo: GitRepository, label: str | None, path: str) -> str:
    """The text of ``path`` at ``label``, the way the service layer reads it."""
    tree = repo.tree(repo.resolve(label))
    return repo.read_blob(tree.files[path]).decode("utf-8")


def test_clone_reads_files_at_any_commit(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A bare clone serves each commit's files, old and new, with no working tree."""
    first = git_remote.write({"application.yml": "a: 1\n"})
    second = git_remote.write({"application.yml": "a: 2\n"})
    repo = open_repo(git_remote.uri)
    assert repo.resolve(None) == second
    assert read(repo, None, "application.yml") == "a: 2\n"
    assert read(repo, first, "application.yml") == "a: 1\n"
    assert (repo.gitdir / "HEAD").is_file() and not (repo.gitdir / "application.yml").exists()


def test_tree_lists_files_and_every_directory(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A tree maps each file to its blob and lists all directories, the root as ''."""
    commit = git_remote.write({"a.yml": "a", "x/b.yml": "b", "x/y/z/c.properties": "c"})
    tree = open_repo(git_remote.uri).tree(commit)
    assert tree.commit == commit
    assert set(tree.files) == {"a.yml", "x/b.yml", "x/y/z/c.properties"}
    assert tree.dirs == frozenset({"", "x", "x/y", "x/y/z"})


def test_symlinks_inside_the_repo_read_as_their_target(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A symlink to a file in the repository serves that file; one pointing outside is left out."""
    git_remote.write({"shared/application.yml": "shared: true\n"})
    os.symlink("shared/application.yml", git_remote.work / "application.yml")
    os.symlink("application.yml", git_remote.work / "chain.yml")
    os.symlink("../../../../etc/passwd", git_remote.work / "escape.yml")
    os.symlink("/etc/passwd", git_remote.work / "absolute.yml")
    os.symlink("shared", git_remote.work / "dirlink")
    repo = open_repo(git_remote.uri)
    git_remote.write({})
    repo.fetch()
    tree = repo.tree(repo.resolve(None))
    assert read(repo, None, "application.yml") == "shared: true\n"
    assert tree.files["chain.yml"] == tree.files["shared/application.yml"]
    assert {"escape.yml", "absolute.yml", "dirlink"}.isdisjoint(tree.files)


@dataclass(frozen=True)
class Labelled:
    """A read-only clone with one old commit reachable by every kind of label."""

    repo: GitRepository
    old: str
    head: str
    tree_id: str


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Labelled]:
    """Shared by the read-only label specs, so the repository is built once per module."""
    remote = GitRemote(tmp_path_factory.mktemp("labels"))
    old = remote.write({"app.yml": "v: old\n"})
    git(remote.work, "tag", "-a", "-m", "release", "annotated", old)
    git(remote.work, "tag", "plain", old)
    git(remote.work, "tag", "same", old)
    for branch in ("hotfix", "feature/puff", "same"):
        git(remote.work, "branch", branch, old)
    head = remote.write({"app.yml": "v: main\n"}, push=False)
    git(remote.work, "branch", "-f", "same", head)
    git(remote.work, "push", "-q", "origin", "--all")
    git(remote.work, "push", "-q", "origin", "--tags")
    repo = GitRepository(uri=remote.uri, basedir=remote.root / "clone")
    repo.open()
    yield Labelled(repo, old, head, git(remote.work, "rev-parse", "HEAD^{tree}"))
    repo.close()


@pytest.mark.parametrize("kind", ["branch", "slashed branch", "tag", "annotated tag", "short id", "full id"])
def test_labels_name_branches_tags_and_commits(labelled: Labelled, kind: str) -> None:
    """A label may be a branch (with '/'), a tag (annotated ones peeled), or a commit id of >= 7 digits."""
    label = {
        "branch": "hotfix",
        "slashed branch": "feature/puff",
        "tag": "plain",
        "annotated tag": "annotated",
        "short id": labelled.old[:7],
        "full id": labelled.old,
    }[kind]
    assert labelled.repo.resolve(label) == labelled.old
    assert read(labelled.repo, label, "app.yml") == "v: old\n"


def test_branch_is_preferred_over_a_tag_of_the_same_name(labelled: Labelled) -> None:
    """When a branch and a tag share a name, the branch wins."""
    assert labelled.repo.resolve("same") == labelled.head


@pytest.mark.parametrize("label", ["nope", "feature/nope", "abcdef1", "0" * 40])
def test_unknown_label_is_label_not_found(labelled: Labelled, label: str) -> None:
    """A label that is no branch, tag or existing commit raises LabelNotFound (404)."""
    with pytest.raises(LabelNotFound) as caught:
        labelled.repo.resolve(label)
    assert status_of(caught.value) == 404 and caught.value.label == label


def test_a_tree_id_is_not_a_commit_label(labelled: Labelled) -> None:
    """An abbreviated id of a tree or blob is not a label."""
    with pytest.raises(LabelNotFound):
        labelled.repo.resolve(labelled.tree_id[:10])
    with pytest.raises(LabelNotFound):
        labelled.repo.tree(labelled.tree_id)


def _commits_sharing_a_prefix() -> tuple[bytes, bytes]:
    """Two commit objects whose ids share their first 7 hex digits (a birthday search, ~20k tries)."""
    seen: dict[str, bytes] = {}
    for i in itertools.count():
        body = (
            f"tree {EMPTY_TREE}\nauthor T <t@example.com> 1700000000 +0000\n"
            f"committer T <t@example.com> 1700000000 +0000\n\n{i}\n"
        ).encode()
        prefix = hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()[:7]
        if prefix in seen:
            return seen[prefix], body
        seen[prefix] = body
    raise AssertionError("unreachable")


def test_ambiguous_short_id_is_label_not_found_saying_so(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A 7-digit id shared by two commits is LabelNotFound explaining the ambiguity; more digits work."""
    git_remote.write({"a": "1"})
    git(git_remote.bare, "hash-object", "-t", "tree", "-w", "/dev/null")
    ids = []
    for n, body in enumerate(_commits_sharing_a_prefix()):
        sha = (
            subprocess.run(
                ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
                cwd=git_remote.bare,
                input=body,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        git(git_remote.bare, "update-ref", f"refs/heads/twin{n}", sha)
        ids.append(sha)
    repo = open_repo(git_remote.uri)
    assert ids[0][:7] == ids[1][:7]
    with pytest.raises(LabelNotFound, match="Ambiguous") as caught:
        repo.resolve(ids[0][:7])
    assert caught.value.label == ids[0][:7] and status_of(caught.value) == 404
    assert repo.resolve(ids[0][:12]) == ids[0]


def test_default_label_falls_back_from_main_to_master(tmp_path: Path, open_repo: OpenRepo) -> None:
    """With the default 'main', a remote that only has 'master' is served from 'master'."""
    remote = GitRemote(tmp_path / "old", branch="master")
    commit = remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(remote.uri)
    assert repo.resolve(None) == commit
    assert repo.resolve("main") == commit


def test_no_master_fallback_for_another_default_label(tmp_path: Path, open_repo: OpenRepo) -> None:
    """A configured default other than 'main' that is missing is a LabelNotFound naming it."""
    remote = GitRemote(tmp_path / "old", branch="master")
    remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(remote.uri, default_label="trunk")
    with pytest.raises(LabelNotFound, match="trunk"):
        repo.resolve(None)


def test_force_push_is_followed(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """After a force-push rewrites a branch, fetch makes the label serve the new history."""
    base = git_remote.write({"a.yml": "a: 1\n"})
    lost = git_remote.write({"a.yml": "a: 2\n"})
    repo = open_repo(git_remote.uri)
    git(git_remote.work, "reset", "-q", "--hard", base)
    rewritten = git_remote.write({"a.yml": "a: 3\n"})
    assert repo.fetch() == {"refs/heads/main": (lost, rewritten)}
    assert read(repo, "main", "a.yml") == "a: 3\n"


def test_moved_tag_is_followed(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A tag re-pointed on the remote resolves to its new commit after fetch."""
    first = git_remote.write({"a": "1"})
    git_remote.tag("live", first)
    repo = open_repo(git_remote.uri)
    second = git_remote.write({"a": "2"})
    git_remote.tag("live", second)
    assert repo.fetch() == {"refs/heads/main": (first, second), "refs/tags/live": (first, second)}
    assert repo.resolve("live") == second


def test_deleted_branch_disappears_after_fetch(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """A branch deleted on the remote is pruned: its label becomes LabelNotFound."""
    commit = git_remote.write({"a": "1"})
    git(git_remote.work, "push", "-q", "origin", "HEAD:refs/heads/feature")
    repo = open_repo(git_remote.uri)
    assert repo.resolve("feature") == commit
    git(git_remote.work, "push", "-q", "origin", "--delete", "feature")
    assert repo.fetch() == {"refs/heads/feature": (commit, None)}
    with pytest.raises(LabelNotFound):
        repo.resolve("feature")


def test_fetch_from_a_vanished_remote_keeps_the_last_state(
    git_remote: GitRemote, open_repo: OpenRepo
) -> None:
    """When the remote is gone, fetch raises Unavailable, status records it, and reads still work."""
    git_remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(git_remote.uri)
    succeeded = repo.status.last_success
    git_remote.bare.rename(git_remote.bare.with_name("moved-away.git"))
    with pytest.raises(Unavailable):
        repo.fetch()
    status = repo.status
    assert status.last_success == succeeded and status.last_error
    assert status.last_attempt is not None and succeeded is not None and status.last_attempt > succeeded
    assert "\n" not in status.last_error and "Traceback" not in status.last_error
    assert read(repo, "main", "a.yml") == "a: 1\n"


def test_recovered_remote_clears_the_error(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """The next successful fetch clears last_error and renews last_success."""
    git_remote.write({"a": "1"})
    repo = open_repo(git_remote.uri)
    moved = git_remote.bare.rename(git_remote.bare.with_name("away.git"))
    with pytest.raises(Unavailable):
        repo.fetch()
    failed = repo.status
    moved.rename(git_remote.bare)
    repo.fetch()
    assert failed.last_error and failed.last_success is not None
    assert repo.status.last_error is None and repo.status.last_success is not None
    assert repo.status.last_success > failed.last_success


def test_a_vanished_clone_is_made_again_on_fetch(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """If the clone directory is deleted under the server (tmp cleaners), the next fetch re-clones it."""
    git_remote.write({"a.yml": "a: 1\n"})
    repo = open_repo(git_remote.uri)
    assert read(repo, None, "a.yml") == "a: 1\n"
    shutil.rmtree(repo.basedir)
    git_remote.write({"a.yml": "a: 2\n"})
    repo.fetch()
    assert read(repo, None, "a.yml") == "a: 2\n" and repo.status.last_error is None


def test_open_without_remote_or_clone_is_unavailable(tmp_path: Path, open_repo: OpenRepo) -> None:
    """With no clone to fall back on, an unreachable remote makes open() raise Unavailable."""
    missing = tmp_path / "no-such-remote.git"
    with pytest.raises(Unavailable, match="Cannot clone") as caught:
        open_repo(str(missing))
    assert str(missing) in caught.value.message and status_of(caught.value) == 503


def test_open_with_unreachable_remote_serves_the_existing_clone(
    git_remote: GitRemote, open_repo: OpenRepo, tmp_path: Path
) -> None:
    """A restart while the remote is down reuses the clone, records the error, and dates the
    data from the earlier run's last fetch."""
    commit = git_remote.write({"a": "1"})
    first = open_repo(git_remote.uri)
    fetched = first.status.last_success
    first.close()
    git_remote.bare.rename(tmp_path / "away.git")
    repo = open_repo(git_remote.uri)
    assert repo.resolve(None) == commit and repo.has_data
    assert repo.status.last_error
    assert fetched is not None and repo.status.last_success is not None
    assert abs((repo.status.last_success - fetched).total_seconds()) < 1


def test_credentials_never_appear_in_errors(tmp_path: Path, open_repo: OpenRepo) -> None:
    """A failing https remote is reported by its credential-free URI, in one line."""
    with pytest.raises(Unavailable) as caught:
        open_repo("https://alice:s3cr3t-token@127.0.0.1:1/config.git", access=RemoteAccess(timeout=10))
    message = caught.value.message
    assert "s3cr3t" not in message and "alice" not in message
    assert "https://127.0.0.1:1/config.git" in message and "\n" not in message


HOSTILE = [
    "--upload-pack=touch X",
    "-c core.sshCommand=touch X",
    "../../etc/passwd",
    "main@{0}",
    "a b",
    "HEAD~1",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_labels_are_rejected_before_git_runs(
    labelled: Labelled, tmp_path: Path, template: str
) -> None:
    """Option-like or ref-escaping labels raise InvalidRequest and never execute anything."""
    marker = tmp_path / "pwned"
    with pytest.raises(InvalidRequest):
        labelled.repo.resolve(template.replace("X", str(marker)))
    labelled.repo.fetch()
    assert not marker.exists()


@pytest.mark.parametrize("bad", ["HEAD", "main", "--output=/tmp/x", "a" * 39, "A" * 40])
def test_tree_and_blob_take_only_full_ids(labelled: Labelled, bad: str) -> None:
    """tree() and read_blob() accept nothing but 40 lower-case hex digits."""
    repo = labelled.repo
    with pytest.raises(InvalidRequest):
        repo.tree(bad)
    with pytest.raises(InvalidRequest):
        repo.read_blob(bad)


def test_unknown_ids_are_not_found(labelled: Labelled) -> None:
    """A well-formed id of nothing is LabelNotFound for trees and ResourceNotFound for blobs."""
    repo, commit = labelled.repo, labelled.head
    with pytest.raises(LabelNotFound):
        repo.tree("0" * 40)
    with pytest.raises(ResourceNotFound):
        repo.read_blob("0" * 40)
    with pytest.raises(ResourceNotFound):
        repo.read_blob(commit)


def test_basedir_with_foreign_data_is_refused_untouched(git_remote: GitRemote, tmp_path: Path) -> None:
    """A non-empty basedir the server did not create raises InvalidConfiguration and is not modified."""
    git_remote.write({"a": "1"})
    basedir = tmp_path / "precious"
    basedir.mkdir()
    (basedir / "thesis.tex").write_text("years of work")
    with pytest.raises(InvalidConfiguration, match="refusing"):
        GitRepository(uri=git_remote.uri, basedir=basedir).open()
    assert [p.name for p in basedir.iterdir()] == ["thesis.tex"]


def test_basedir_of_another_uri_is_recloned(tmp_path: Path, open_repo: OpenRepo) -> None:
    """A clone this server made of a different remote is replaced by a clone of the configured one."""
    one, two = GitRemote(tmp_path / "one"), GitRemote(tmp_path / "two")
    one.write({"who": "one"})
    two_head = two.write({"who": "two"})
    open_repo(one.uri).close()
    repo = open_repo(two.uri)
    assert repo.resolve(None) == two_head
    assert (repo.basedir / MARKER).read_text().strip() == two.uri


def test_parents_of_basedir_are_created_and_clone_reused(git_remote: GitRemote, tmp_path: Path) -> None:
    """basedir may not exist yet; a second open reuses the clone instead of cloning again."""
    git_remote.write({"a": "1"})
    basedir = tmp_path / "deep" / "er" / "clone"
    first = GitRepository(uri=git_remote.uri, basedir=basedir)
    first.open()
    first.close()
    inode = (first.gitdir / "objects").stat().st_ino
    second = GitRepository(uri=git_remote.uri, basedir=basedir)
    second.open()
    second.close()
    assert second.gitdir == first.gitdir and (second.gitdir / "objects").stat().st_ino == inode


def test_stale_ref_lock_from_a_killed_fetch_is_removed(git_remote: GitRemote, open_repo: OpenRepo) -> None:
    """An old ref lock left by a killed fetch does not block fetches after a restart."""
    git_remote.write({"a": "1"})
    open_repo(git_remote.uri).close()
    head = git_remote.write({"a": "2"})
    lock = git_remote.root.parent / "clone" / "clone-1" / "refs" / "remotes" / "origin" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    repo = open_repo(git_remote.uri, access=RemoteAccess(timeout=60))
    assert repo.status.last_error is None and repo.resolve(None) == head


def test_status_age_counts_from_the_last_success() -> None:
    """age_seconds is the time since the last successful fetch, None if there was none."""
    from datetime import UTC, datetime, timedelta

    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert GitStatus().age_seconds(now) is None
    assert GitStatus(last_success=now - timedelta(seconds=90)).age_seconds(now) == 90.0


def test_invalid_default_label_is_rejected_at_construction(tmp_path: Path) -> None:
    """A malformed configured default label is a ValueError, before anything touches git."""
    with pytest.raises(ValueError, match="default_label"):
        GitRepository(uri="/x", basedir=tmp_path, default_label="-bad")
