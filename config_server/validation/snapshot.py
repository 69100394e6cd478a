"""The files ``validate`` reads: from a working copy, a revision of a local repository, or a remote.

The blocking, I/O half of validation (the checks in ``check`` are pure). Only the files that
matter are read (``discover.layout``), each once: a revision's blobs in one ``git cat-file
--batch``. In a ``pre-receive`` hook the pushed objects are only visible through git's quarantine
environment (``GIT_QUARANTINE_PATH``, ``GIT_OBJECT_DIRECTORY``...), which every git command here
inherits unchanged.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config_server.errors import InvalidRequest, Unavailable
from config_server.sources.git.listing import follow_links, parse_listing
from config_server.sources.git.refs import display_uri, one_line
from config_server.sources.git.remote import RemoteAccess
from config_server.validation.discover import layout

__all__ = ["Snapshot", "is_git_directory", "read_git", "read_remote", "read_worktree"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The files validation reads (path -> bytes), every directory of the tree, and the commit."""

    files: Mapping[str, bytes]
    dirs: frozenset[str]
    commit: str | None = None


def read_worktree(root: Path, search_paths: Sequence[str]) -> Snapshot:
    """The files of a directory as they are on disk (``.git`` left out). Symlinks are followed
    to files inside ``root`` only, as the server follows them in a commit. Raises
    ``InvalidRequest`` when ``root`` is not a directory."""
    if not root.is_dir():
        raise InvalidRequest(f"Not a directory: {root}")
    base = root.resolve()
    paths: dict[str, Path] = {}
    dirs = {""}
    for current, dirnames, filenames in os.walk(base):
        rel = Path(current).relative_to(base).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirnames[:] = [d for d in dirnames if d != ".git" and not os.path.islink(os.path.join(current, d))]
        dirs.update(prefix + d for d in dirnames if _utf8(prefix + d))
        for name in filenames:
            full = Path(current, name)
            target = full.resolve()
            if _utf8(prefix + name) and target.is_file() and target.is_relative_to(base):
                paths[prefix + name] = target
    wanted = layout(paths, dirs, search_paths).wanted
    try:
        files = {path: paths[path].read_bytes() for path in wanted}
    except OSError as exc:
        raise Unavailable(f"Cannot read {exc.filename}: {exc.strerror}") from None
    return Snapshot(files, frozenset(dirs))


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # the server skips paths that are not UTF-8, too
        return False
    return True


def is_git_directory(path: Path) -> bool:
    """Whether ``path`` is a git repository, bare or with a working tree."""
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def _git(repository: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repository), *args], input=data, capture_output=True, check=True
        )
    except subprocess.CalledProcessError as exc:
        reason = one_line(exc.stderr.decode("utf-8", "replace")) or f"exit status {exc.returncode}"
        raise Unavailable(f"git {args[0]} failed in {repository}: {reason}") from None
    except OSError as exc:
        raise Unavailable(f"cannot run git: {exc.strerror}") from None
    return done.stdout


def read_git(repository: Path, revision: str, search_paths: Sequence[str]) -> Snapshot:
    """The files of ``revision`` (a branch, tag or commit id) in a local repository, read from
    its objects (never the working copy). Raises ``InvalidRequest`` for an unknown revision,
    ``Unavailable`` when git fails."""
    if not revision or revision.startswith("-") or any(ch in revision for ch in "\0\n"):
        raise InvalidRequest(f"Invalid revision: {revision!r}")
    try:
        commit = (
            _git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
        )
    except Unavailable:
        raise InvalidRequest(f"No such revision in {repository}: {revision}") from None
    listing = parse_listing(_git(repository, "ls-tree", "-r", "-t", "-z", "--full-tree", commit))
    blobs, dirs = listing.files, listing.dirs
    if listing.links:
        targets = _cat(repository, set(listing.links.values()))
        follow_links(blobs, listing.links, targets.__getitem__)
    wanted = layout(blobs, dirs, search_paths).wanted
    content = _cat(repository, {blobs[path] for path in wanted})
    return Snapshot({path: content[blobs[path]] for path in wanted}, frozenset(dirs), commit)


def _cat(repository: Path, shas: set[str]) -> dict[str, bytes]:
    """The contents of blobs, all in one ``git cat-file --batch``."""
    if not shas:
        return {}
    order = sorted(shas)
    out = _git(repository, "cat-file", "--batch", data="".join(s + "\n" for s in order).encode())
    found: dict[str, bytes] = {}
    pos = 0
    for sha in order:
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        if len(header) != 3:
            raise Unavailable(f"git cat-file: object {sha} is missing in {repository}")
        size = int(header[2])
        found[sha] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return found


def read_remote(
    uri: str,
    revision: str | None,
    search_paths: Sequence[str],
    *,
    default_label: str = "main",
    access: RemoteAccess | None = None,
    try_master: bool = True,
) -> Snapshot:
    """The files of ``revision`` (None: the default label) of a remote, cloned into a temporary
    directory as the server clones it (``GitRepository``, ``try_master`` as the server's
    ``git_try_master_branch``), then removed. Raises ``Unavailable`` when the remote cannot be
    read, ``LabelNotFound`` for an unknown revision."""
    from config_server.sources.git.repository import GitRepository

    with tempfile.TemporaryDirectory(prefix="config-server-validate-") as tmp:
        repo = GitRepository(
            uri=uri, basedir=Path(tmp), default_label=default_label, access=access, try_master=try_master
        )
        try:
            repo.open()
            commit = repo.resolve(revision)
            tree = repo.tree(commit)
            wanted = layout(tree.files, tree.dirs, search_paths).wanted
            files = {path: repo.read_blob(tree.files[path]) for path in wanted}
        except Unavailable as exc:
            raise Unavailable(f"Cannot read {display_uri(uri)}: {exc.message}") from None
        finally:
            repo.close()
    return Snapshot(files, tree.dirs, commit)
