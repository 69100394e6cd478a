"""The blocking half of the git backend: a bare clone read straight from git objects (GitPython).

There is never a working tree and never a checkout: a label resolves to a commit, a commit to a
``Tree`` (path → blob id), and a blob id to bytes, so any number of labels can be served at once.
Fetches keep the clone in step with the remote, including force-pushes, moved tags and deleted
branches. Every GitPython error is translated here, once, into the server's exception tree.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
from gitdb.util import hex_to_bin

from config_server.errors import (
    ConfigServerError,
    InvalidConfiguration,
    InvalidRequest,
    LabelNotFound,
    ResourceNotFound,
    Unavailable,
)
from config_server.sources.git.refs import (
    RefSnapshot,
    check_label,
    commit_prefix,
    display_uri,
    is_full_sha,
    local_path,
    redact,
)
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.transport import Transport

__all__ = ["MARKER", "GitRepository", "GitStatus", "Tree"]

_log = logging.getLogger(__name__)

MARKER = ".config-server-clone"
"""File in basedir naming the remote it clones: proof the directory is ours to wipe."""

_REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
_REF_FORMAT = "%(objectname)\t%(objecttype)\t%(*objectname)\t%(*objecttype)\t%(refname)"
_REF_ROOTS = ("refs/remotes/origin/", "refs/tags/")
_SYMLINK_HOPS = 8
_NETWORK = frozenset({"fetch", "ls-remote", "clone"})  # commands that get the credentials


@dataclass(frozen=True, slots=True)
class Tree:
    """The files of one commit, read once from git and then cached (it never changes)."""

    commit: str
    """The full 40-hex commit id."""
    files: Mapping[str, str]
    """Repository-relative posix path → blob id. Symlinks to files inside the repository appear
    as the file they point to; other symlinks and submodules are left out."""
    dirs: frozenset[str]
    """Every directory path, ``""`` for the root, no trailing slash."""


@dataclass(frozen=True, slots=True)
class GitStatus:
    """How fresh the clone is: when the remote was last reached and the last error, if any."""

    last_success: datetime | None = None
    """UTC time of the last successful clone or fetch."""
    last_attempt: datetime | None = None
    last_error: str | None = None
    """One line, without credentials; None after a successful fetch."""

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last successful fetch (None if there never was one)."""
        if self.last_success is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_success).total_seconds()


class GitRepository:
    """A bare clone of one remote in ``basedir``, read without any working tree.

    Blocking, and not thread-safe, with one allowance the async seam relies on: ``open`` and
    ``fetch`` may run on one thread while ``resolve``, ``tree`` and ``read_blob`` run on another.
    The two sides use separate git command objects, and fetch publishes the refs as one immutable
    snapshot, so ``lookup`` and ``status`` may be read from any thread.
    """

    def __init__(
        self, *, uri: str, basedir: Path, default_label: str = "main", access: RemoteAccess | None = None
    ) -> None:
        try:
            check_label(default_label)
        except InvalidRequest as exc:
            raise ValueError(f"default_label: {exc.message}") from exc
        self.uri = uri
        self.basedir = Path(basedir)
        self.default_label = default_label
        self.access = access if access is not None else RemoteAccess()
        self.timeout = self.access.timeout
        self._transport = Transport(uri, self.access)
        self.display_uri = display_uri(uri)
        """The URI without credentials or trailing ``/``, for property-source names and logs."""
        path = local_path(uri)
        self.local_path = path.resolve() if path is not None else None
        """The remote's directory when it is on this host (a path or ``file:`` URL), else None."""
        self.status = GitStatus()
        self._refs = RefSnapshot()
        self._admin: git.Git | None = None  # open/fetch side
        self._repo: git.Repo | None = None  # read side: owns the persistent cat-file processes
        self._reader_stale = False  # set by fetch when it re-created the clone

    # -- open and fetch (one thread) -------------------------------------------------------------

    def open(self) -> None:
        """Reuse the clone in ``basedir`` (or make a bare one) and fetch.

        Raises ``Unavailable`` if the remote cannot be reached and there is no clone to serve;
        with a clone, a failed fetch is logged and recorded in ``status`` instead. Raises
        ``InvalidConfiguration`` if ``basedir`` holds files this server did not put there, or a
        file of ``access`` (key, known_hosts, CA, password file) cannot be read.
        """
        self._transport.check()
        if self._transport.tls_unverified:
            _log.warning("TLS verification is OFF for %s (--git-skip-ssl-validation)", self.display_uri)
        self._prepare_basedir()
        admin = self._admin = self._new_git()
        self._configure_remote(admin)
        self._refs = self._read_refs(admin)
        try:
            self.fetch()
        except Unavailable as exc:
            if not self.has_data:
                raise Unavailable(f"Cannot clone {self.display_uri}: {exc.message}") from exc
            _log.warning("git remote %s unreachable; serving the existing clone: %s", self.display_uri, exc)
            # The data is as old as the last fetch of an earlier run, which the marker's mtime keeps.
            self.status = GitStatus(self._marker_time(), self.status.last_attempt, self.status.last_error)
        self._repo = self._open_reader()

    @property
    def has_data(self) -> bool:
        """Whether there is anything to serve (a fetched branch or tag), reachable remote or not."""
        return bool(self._refs.branches or self._refs.tags)

    def fetch(self) -> dict[str, tuple[str | None, str | None]]:
        """Fetch from the remote (pruning) and return the refs that moved: name → (old, new).

        Names are the remote's (``refs/heads/X``, ``refs/tags/X``), values commit ids (None for
        a ref that appeared or disappeared). Raises ``Unavailable``; ``status`` records the outcome.
        A clone that vanished from under the server (a cleaned-up directory) is made again.
        """
        admin = self._admin
        if admin is None:
            raise RuntimeError("GitRepository.open() has not been called")
        attempt = datetime.now(UTC)
        try:
            if not (self.basedir / "HEAD").is_file():
                _log.warning("the clone in %s vanished; cloning %s again", self.basedir, self.display_uri)
                self._prepare_basedir()
                self._configure_remote(admin)
                self._reader_stale = True
            self._git(admin, "fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin", *_REFSPECS)
            after = self._read_refs(admin)
        except ConfigServerError as exc:
            self.status = GitStatus(self.status.last_success, attempt, exc.message)
            raise
        moved, self._refs = self._refs.moved(after), after
        self.status = GitStatus(datetime.now(UTC), attempt, None)
        with contextlib.suppress(OSError):
            os.utime(self.basedir / MARKER)  # when the data was last fetched, for the next start
        return moved

    # -- reads (one thread) ----------------------------------------------------------------------

    def lookup(self, label: str | None) -> str | None:
        """The commit of the branch or tag ``label`` (None: the default label) as last fetched.

        No I/O; safe from any thread. Returns None when no branch or tag matches (the label may
        still be a commit id: see ``resolve``). Raises ``InvalidRequest`` for a malformed label.
        """
        return self._refs.lookup(check_label(self.label_name(label)))

    def label_name(self, label: str | None) -> str:
        """The label a request means: ``label``, else the default label; ``main`` is ``master``
        when ``main`` is the default and only ``master`` exists. No I/O; safe from any thread."""
        name = self.default_label if label is None else label
        refs = self._refs
        if self._falls_back(name) and refs.lookup("main") is None and refs.lookup("master"):
            return "master"
        return name

    def resolve(self, label: str | None) -> str:
        """The commit id a label names: a branch, else a tag, else a (>= 7 digit) commit id.

        ``None`` means the default label; a default of ``main`` falls back to ``master`` when the
        remote has no ``main``. Raises ``InvalidRequest`` for a malformed label and
        ``LabelNotFound`` for an unknown or ambiguous one.
        """
        found = self.lookup(label)
        if found is not None:
            return found
        name = self.default_label if label is None else label
        prefix = commit_prefix(name)
        if prefix is None:
            raise LabelNotFound(name)
        repo = self._reader()
        out: str = self._git(repo.git, "rev-parse", f"--disambiguate={prefix}")
        commits = [sha for sha in out.split() if self._object_type(sha) == "commit"]
        if len(commits) > 1:
            err = LabelNotFound(name)
            # The plain "No such label" would mislead: the id exists, it is just too short.
            err.message = f"Ambiguous label {name!r}: it abbreviates {len(commits)} commits; use more digits"
            err.args = (err.message,)
            raise err
        if not commits:
            raise LabelNotFound(name)
        return commits[0]

    def tree(self, commit: str) -> Tree:
        """The files and directories of ``commit`` (a full commit id).

        Raises ``InvalidRequest`` if ``commit`` is not 40 hex digits, ``LabelNotFound`` if there
        is no such commit.
        """
        if not is_full_sha(commit):
            raise InvalidRequest(f"Not a full commit id: {commit[:80]!r}")
        repo = self._reader()
        if self._object_type(commit) != "commit":
            raise LabelNotFound(commit)
        raw = self._git(
            repo.git,
            "ls-tree",
            "-r",
            "-t",
            "-z",
            "--full-tree",
            "--end-of-options",
            commit,
            stdout_as_string=False,
        )
        files: dict[str, str] = {}
        links: dict[str, str] = {}
        dirs = {""}
        for entry in raw.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, sha = meta.decode("ascii").split(" ")
            try:
                path = raw_path.decode("utf-8")
            except UnicodeDecodeError:
                _log.warning("skipping a path that is not UTF-8 in %s at %s", self.display_uri, commit)
                continue
            if kind == "tree":
                dirs.add(path)
            elif kind == "blob" and mode == "120000":
                links[path] = sha
            elif kind == "blob":
                files[path] = sha
        for path, sha in links.items():
            target = _follow(path, self.read_blob(sha), files, links, self.read_blob)
            if target is not None:
                files[path] = target
        return Tree(commit=commit, files=dict(sorted(files.items())), dirs=frozenset(dirs))

    def read_blob(self, blob: str) -> bytes:
        """The bytes of a blob. Raises ``InvalidRequest`` for a malformed id, ``ResourceNotFound``
        if there is no such blob."""
        if not is_full_sha(blob):
            raise InvalidRequest(f"Not a full blob id: {blob[:80]!r}")
        repo = self._reader()
        try:
            stream = repo.odb.stream(hex_to_bin(blob))
            data: bytes = stream.read()
        except ValueError as exc:  # GitPython's report of a missing object
            raise ResourceNotFound(f"No such blob: {blob}") from exc
        except (OSError, git.GitError) as exc:
            raise Unavailable(f"Cannot read {blob} from the clone of {self.display_uri}: {exc}") from exc
        if stream.type != b"blob":
            raise ResourceNotFound(f"No such blob: {blob}")
        return data

    def history(self, commit: str, limit: int) -> list[str]:
        """``commit`` and its first-parent ancestors, newest first, at most ``limit`` ids.

        First parents are the commits a branch's head has been (merged-in commits never were).
        Read-only; run on the read side. Raises ``InvalidRequest`` for a malformed id,
        ``LabelNotFound`` if there is no such commit, ``Unavailable`` if git fails.
        """
        if not is_full_sha(commit):
            raise InvalidRequest(f"Not a full commit id: {commit[:80]!r}")
        if limit < 1:
            return []
        repo = self._reader()
        if self._object_type(commit) != "commit":
            raise LabelNotFound(commit)
        out: str = self._git(repo.git, "rev-list", "--first-parent", f"--max-count={limit}", commit, "--")
        return out.split()

    def close(self) -> None:
        """Stop git's persistent helper processes. Call from the thread that did the reads."""
        if self._repo is not None:
            self._repo.close()
        if self._admin is not None:
            self._admin.clear_cache()
        self._transport.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _falls_back(self, name: str) -> bool:
        return name == "main" and self.default_label == "main"

    def _reader(self) -> git.Repo:
        if self._repo is None:
            raise RuntimeError("GitRepository.open() has not been called")
        if self._reader_stale:  # the clone was made again: drop cat-file processes of the old one
            fresh = self._open_reader()
            self._repo.close()
            self._repo, self._reader_stale = fresh, False
        return self._repo

    def _open_reader(self) -> git.Repo:
        try:
            repo = git.Repo(self.basedir)
        except git.GitError as exc:
            raise Unavailable(f"Cannot open the clone of {self.display_uri}: {redact(str(exc))}") from exc
        repo.git.update_environment(**self._environment())
        return repo

    def _configure_remote(self, admin: git.Git) -> None:
        # Never the URI as given: its user-info may hold a token, and this is <basedir>/config.
        remote = str(self.local_path) if self.local_path is not None else self._transport.url
        self._git(admin, "config", "--end-of-options", "remote.origin.url", remote)
        self._git(admin, "config", "--replace-all", "remote.origin.fetch", _REFSPECS[0])
        self._git(admin, "config", "remote.origin.tagOpt", "--no-tags")

    def _object_type(self, sha: str) -> str | None:
        try:
            info = self._reader().odb.info(hex_to_bin(sha))
        except ValueError:  # missing object
            return None
        except (OSError, git.GitError) as exc:
            raise Unavailable(f"Cannot read the clone of {self.display_uri}: {exc}") from exc
        kind: bytes = info.type
        return kind.decode("ascii")

    def _environment(self) -> dict[str, str]:
        # GIT_DIR stops git from walking up into an enclosing repository should basedir break;
        # no terminal prompt, so a fetch that needs credentials fails instead of waiting forever.
        # The transport's part (TLS, proxy, ssh options, askpass path) holds no secret.
        return {**self._transport.environment(), "GIT_DIR": str(self.basedir), "GIT_TERMINAL_PROMPT": "0"}

    def _new_git(self) -> git.Git:
        cmd = git.Git(self.basedir)
        cmd.update_environment(**self._environment())
        return cmd

    def _git(self, cmd: git.Git, name: str, *args: str, **kwargs: Any) -> Any:
        """Run one git command, killed after ``timeout``; any failure becomes ``Unavailable``.

        Commands that talk to the remote get the credentials, in their environment only (the
        password file is read again each time); failures say what went wrong in a user's words.
        """
        transport = self._transport
        if name in _NETWORK:
            kwargs["env"] = transport.credentials()
        try:
            return getattr(cmd, name.replace("-", "_"))(*args, kill_after_timeout=self.timeout, **kwargs)
        except git.GitCommandError as exc:
            reason = transport.explain(_stderr(exc).replace(self.uri, self.display_uri))
            raise Unavailable(f"git {name} failed for {self.display_uri}: {reason}") from exc
        except (OSError, git.GitError) as exc:
            reason = transport.scrub(str(exc))
            raise Unavailable(f"git {name} failed for {self.display_uri}: {reason}") from exc

    def _read_refs(self, admin: git.Git) -> RefSnapshot:
        out = self._git(admin, "for-each-ref", f"--format={_REF_FORMAT}", *_REF_ROOTS, stdout_as_string=False)
        return RefSnapshot.parse(out.decode("utf-8", "surrogateescape"))  # ref names are bytes to git

    def _marker_time(self) -> datetime | None:
        try:
            return datetime.fromtimestamp((self.basedir / MARKER).stat().st_mtime, UTC)
        except OSError:
            return None

    def _prepare_basedir(self) -> None:
        """Make ``basedir`` hold a bare repository of ours for this URI, without losing user data."""
        base = self.basedir
        try:
            base.mkdir(parents=True, exist_ok=True)
            marker = base / MARKER
            if marker.is_file():
                owner = marker.read_text(encoding="utf-8").strip()
                if owner == self.display_uri and _is_bare_repository(base):
                    _remove_stale_locks(base, older_than=self.timeout)
                    return
                _log.warning("re-cloning %s into %s (it held a clone of %s)", self.display_uri, base, owner)
                for child in base.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            elif any(base.iterdir()):
                raise InvalidConfiguration(
                    str(base),
                    f"the git basedir is not empty and has no {MARKER} file, so it was not made by "
                    "this server; refusing to overwrite it (point basedir at an empty or new directory)",
                )
            git.Repo.init(base, bare=True, mkdir=False, quiet=True)
            marker.write_text(self.display_uri + "\n", encoding="utf-8")
        except OSError as exc:
            raise Unavailable(f"Cannot prepare the git basedir {base}: {exc.strerror or exc}") from exc
        except git.GitError as exc:
            raise Unavailable(f"Cannot create a bare repository in {base}: {redact(str(exc))}") from exc


def _stderr(exc: git.GitCommandError) -> str:
    """git's own message, unwrapped from GitPython's ``stderr: '...'`` decoration."""
    text = exc.stderr if isinstance(exc.stderr, str) else ""
    text = text.strip()
    if text.startswith("stderr:"):
        text = text[len("stderr:") :].strip()
        if len(text) >= 2 and text[0] == text[-1] == "'":
            text = text[1:-1]
    return text or f"exit status {exc.status}"


def _is_bare_repository(path: Path) -> bool:
    try:
        return git.Repo(path).bare
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False


def _remove_stale_locks(base: Path, *, older_than: float) -> None:
    """Delete ref lock files a killed fetch left behind; they would make every later fetch fail."""
    cutoff = time.time() - older_than
    candidates = [base / "packed-refs.lock", base / "shallow.lock", *base.joinpath("refs").rglob("*.lock")]
    for lock in candidates:
        try:
            if lock.is_file() and lock.stat().st_mtime < cutoff:
                lock.unlink()
                _log.warning("removed stale git lock %s", lock)
        except OSError:
            continue


def _follow(
    path: str,
    target: bytes,
    files: Mapping[str, str],
    links: Mapping[str, str],
    read: Callable[[str], bytes],
) -> str | None:
    """The blob a symlink ends at, if it is a file inside the repository (bounded hops)."""
    for _ in range(_SYMLINK_HOPS):
        try:
            text = target.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if text.startswith("/"):
            return None
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
        if resolved == ".." or resolved.startswith("../") or resolved == ".":
            return None
        if resolved in files:
            return files[resolved]
        if resolved not in links:
            return None
        path, target = resolved, read(links[resolved])
    return None
