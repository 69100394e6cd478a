"""Specification of the clone on a full disk: cleaned up after, reported, recovered from, and a
valid clone served at start without writing to it first. The basedir is a 3 MiB tmpfs."""

from __future__ import annotations

import errno
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config_server.errors import Unavailable
from config_server.sources.git.repository import GitRepository
from tests.support.gitrepo import GitRemote, git
from tests.support.server_process import server_process


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs under tmp_path (root only: skipped where mount is refused)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to give the space back)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def temporaries(gitdir: Path) -> list[Path]:
    """git's temporary object and pack files in a clone."""
    return [p for p in (gitdir / "objects").rglob("*") if p.name.startswith(("tmp_", ".tmp-"))]


def test_failed_fetch_leaves_no_temporaries_and_recovers(git_remote: GitRemote, small_disk: Path) -> None:
    """An oversized push fails to fetch without filling the disk for good; once it is force-pushed
    away, the next fetch serves the new head."""
    base = git_remote.write({"application.yml": "a: 1\n"})
    repo = GitRepository(uri=git_remote.uri, basedir=small_disk / "clone")
    repo.open()
    try:
        free = os.statvfs(small_disk).f_bavail
        git_remote.write({"big.bin": os.urandom(4 * 1024 * 1024)})
        for _ in range(2):
            with pytest.raises(Unavailable):
                repo.fetch()
            assert temporaries(repo.gitdir) == []
            assert os.statvfs(small_disk).f_bavail >= free - 16
        git(git_remote.work, "reset", "-q", "--hard", base)
        fixed = git_remote.write({"application.yml": "a: 2\n"})
        repo.fetch()
        assert repo.resolve(None) == fixed and repo.status.last_error is None
        assert repo.status.disk is not None and not repo.status.disk.low
    finally:
        repo.close()


def test_restart_on_a_full_disk_serves_the_valid_clone(git_remote: GitRemote, small_disk: Path) -> None:
    """A start with the disk full reuses the clone without writing to it, reports the low disk,
    and fetches again once there is space."""
    served = git_remote.write({"application.yml": "a: 1\n"})
    first = GitRepository(uri=git_remote.uri, basedir=small_disk / "clone")
    first.open()
    first.close()
    filler = fill(small_disk)
    newer = git_remote.write({"application.yml": "a: 2\n" * 20000})
    repo = GitRepository(uri=git_remote.uri, basedir=small_disk / "clone")
    repo.open()
    try:
        assert repo.resolve(None) == served and repo.status.last_error
        assert repo.status.disk is not None and repo.status.disk.low
        filler.unlink()
        repo.fetch()
        assert repo.resolve(None) == newer and repo.status.disk is not None and not repo.status.disk.low
    finally:
        repo.close()


def test_server_process_starts_on_a_full_disk(git_remote: GitRemote, small_disk: Path) -> None:
    """The real server starts and serves from a valid clone on a full disk, health saying so."""
    git_remote.write({"orders.yml": "greeting: hello\n"})
    argv = [
        "--repo",
        git_remote.uri,
        "--basedir",
        str(small_disk / "clone"),
        "--port",
        "0",
        "--refresh-rate",
        "0",
    ]
    GitRepository(uri=git_remote.uri, basedir=small_disk / "clone").open()  # the earlier run's clone
    fill(small_disk)
    git_remote.write({"orders.yml": "greeting: hi\n" * 20000})
    with server_process(argv) as server:
        with urllib.request.urlopen(server.url + "/orders/default") as resp:
            assert b"hello" in resp.read()
        with urllib.request.urlopen(server.url + "/actuator/health") as resp:
            health = resp.read().decode()
        assert '"lowDisk": true' in health or '"lowDisk":true' in health, health
