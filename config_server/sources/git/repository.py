"""The blocking half of the git backend: a bare clone read straight from git objects (GitPython).

There is never a working tree and never a checkout: a label resolves to a commit, a commit to a
``Tree`` (path → blob id), and a blob id to bytes, so any number of labels can be served at once.
Fetches keep the clone in step with the remote, including force-pushes, moved tags and deleted
branches. Every GitPython error is translated here, once, into the server's exception tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import threading
from collections.abc import Mapping
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
from config_server.sources.git.layout import (
    MARKER,
    DiskSpace,
    clean_failed_fetch,
    current_generation,
    disk_space,
    generations,
    make_private,
    missing_parts,
    next_generation,
    remove_stale_locks,
    set_current,
)
from config_server.sources.git.listing import follow_links, parse_listing
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

__all__ = ["MARKER", "GitRepository", "GitStatus", "Tree"]  # MARKER: from layout, kept for callers

_log = logging.getLogger(__name__)

_REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
_REF_FORMAT = "%(objectname)\t%(objecttype)\t%(*objectname)\t%(*objecttype)\t%(refname)"
_REF_ROOTS = ("refs/remotes/origin/", "refs/tags/")
_NETWORK = frozenset({"fetch", "ls-remote", "clone"})  # commands that get the credentials
# How git reports a commit the host will not send: asked for an object that is not (or not
# reachably) there, or a host that allows no request of unadvertised objects at all.
_REFUSALS = ("not our ref", "does not allow request for unadvertised object")
_REFUSED_MAX = 10_000  # commit ids a shallow remote refused to send, remembered until refs move
_FORGOTTEN_MAX = 100_000  # commits remembered as removed by a rewrite (their ids only)


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
    broken: str | None = None
    """Why the clone is damaged and being rebuilt (it still serves what it can); None if sound."""
    disk: DiskSpace | None = None
    """Free space where basedir lives, as of the last attempt."""

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
        self,
        *,
        uri: str,
        basedir: Path,
        default_label: str = "main",
        access: RemoteAccess | None = None,
        shallow: bool = False,
        serve_unreachable: bool = False,
        try_master: bool = True,
        prune: bool = True,
    ) -> None:
        """``shallow``: fetch branches and tags with depth 1 (other commits on demand, see
        ``fetch_commit``). ``serve_unreachable``: keep serving commits a rewritten history left
        behind (and keep their objects) instead of answering ``LabelNotFound``. ``try_master``:
        a default label ``main`` that the remote lacks means ``master`` (Spring's
        ``try-master-branch``). ``prune``: a branch or tag deleted at the remote is forgotten at
        the next fetch; False keeps serving the last fetched copy (Spring's
        ``delete-untracked-branches: false``) until the clone is made afresh."""
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
        self.shallow = shallow
        self.serve_unreachable = serve_unreachable
        self.try_master = try_master
        self.prune = prune
        self.display_uri = display_uri(uri)
        """The URI without credentials or trailing ``/``, for property-source names and logs."""
        path = local_path(uri)
        self.local_path = path.resolve() if path is not None else None
        """The remote's directory when it is on this host (a path or ``file:`` URL), else None."""
        self.gitdir = self.basedir / "clone-1"
        """The bare repository being served: the current generation in basedir (set by ``open``,
        replaced when a broken clone is rebuilt)."""
        self.rewrites = 0
        """How many fetches rewrote history (a ref deleted or moved to a non-descendant)."""
        self.ref_moves = 0
        """How many fetches moved a branch or tag (new objects may have come: an abbreviated
        commit id that named one commit may now be ambiguous)."""
        self.status = GitStatus()
        self._refs = RefSnapshot()
        self._admin: git.Git | None = None  # open/fetch side
        self._repo: git.Repo | None = None  # read side: owns the persistent cat-file processes
        self._reader_stale = False  # set by fetch when it swapped in a new generation
        self._broken: str | None = None  # why the current generation must be rebuilt
        self._suspect = False  # a read failed strangely: check the clone at the next fetch
        self._retired: list[Path] = []  # old generations, deleted once the reader moved over
        self._retired_lock = threading.Lock()
        self._refused: set[str] = set()  # commits a shallow remote would not send
        self._forgotten: set[str] = set()  # commits a rewrite left unreachable, to say why

    # -- open and fetch (one thread) -------------------------------------------------------------

    def open(self) -> None:
        """Reuse the clone in ``basedir`` (or make a bare one) and fetch.

        Raises ``Unavailable`` if the remote cannot be reached and there is no clone to serve;
        with a clone, a failed fetch is logged and recorded in ``status`` instead. Raises
        ``InvalidConfiguration`` if ``basedir`` holds files this server did not put there, or a
        file of ``access`` (key, known_hosts, CA, password file) cannot be read. A valid clone is
        served even when nothing can be written (a full disk).
        """
        self._transport.check()
        if self._transport.tls_unverified:
            _log.warning("TLS verification is OFF for %s (--git-skip-ssl-validation)", self.display_uri)
        self._prepare_basedir()
        admin = self._admin = self._new_git()
        self._refs = self._read_refs(admin)
        try:
            self._configure_remote(admin)
        except Unavailable as exc:
            if not self.has_data:
                raise
            # A full disk (config.lock cannot be written) must not stop a start on a valid clone.
            _log.warning("cannot update the git config in %s; using it as it is: %s", self.gitdir, exc)
        try:
            self.fetch()
        except Unavailable as exc:
            if not self.has_data:
                raise Unavailable(f"Cannot clone {self.display_uri}: {exc.message}") from exc
            _log.warning("git remote %s unreachable; serving the existing clone: %s", self.display_uri, exc)
            # The data is as old as the last fetch of an earlier run, which the marker's mtime keeps.
            self.status = dataclasses.replace(self.status, last_success=self._marker_time())
        self._repo = self._open_reader()

    @property
    def has_data(self) -> bool:
        """Whether there is anything to serve (a fetched branch or tag), reachable remote or not."""
        return bool(self._refs.branches or self._refs.tags)

    def fetch(self) -> dict[str, tuple[str | None, str | None]]:
        """Fetch from the remote (pruning) and return the refs that moved: name → (old, new).

        Names are the remote's (``refs/heads/X``, ``refs/tags/X``), values commit ids (None for
        a ref that appeared or disappeared). Raises ``Unavailable``; ``status`` records the outcome.
        A clone that vanished or is damaged is rebuilt in a new generation directory and swapped
        in once complete; until then the old one keeps serving what it can. After a fetch that
        rewrote history, objects no ref reaches any more are pruned (unless ``serve_unreachable``).
        """
        admin = self._admin
        if admin is None:
            raise RuntimeError("GitRepository.open() has not been called")
        attempt = datetime.now(UTC)
        try:
            if self._broken is None and (self._suspect or missing_parts(self.gitdir)):
                self._suspect = False
                self._broken = self._damage(admin)  # names the missing parts, else asks git
            after = self._rebuild() if self._broken is not None else self._fetch_into(admin)
        except ConfigServerError as exc:
            self.status = GitStatus(
                self.status.last_success, attempt, exc.message, self._broken, disk_space(self.basedir)
            )
            raise
        moved = self._refs.moved(after)
        rewrote = self._rewrote(moved)
        if rewrote:
            self.rewrites += 1  # before the new refs are published: readers forget first
        if moved:
            self.ref_moves += 1
        self._refs = after
        if moved:
            self._refused.clear()  # a push may have made a refused commit reachable
        if rewrote and not self.serve_unreachable:
            self._forget_unreachable([old for old, _ in moved.values() if old is not None])
        self.status = GitStatus(datetime.now(UTC), attempt, None, None, disk_space(self.basedir))
        with contextlib.suppress(OSError):
            os.utime(self.basedir / MARKER)  # when the data was last fetched, for the next start
        return moved

    def fetch_commit(self, commit: str) -> None:
        """Fetch one commit (full id) the shallow clone lacks, with depth 1. Fetcher thread only.

        Raises ``LabelNotFound`` (remembered until refs move, so not asked again) when the remote
        refuses to send it, and ``Unavailable`` when it cannot be reached.
        """
        admin = self._admin
        if admin is None:
            raise RuntimeError("GitRepository.open() has not been called")
        if not is_full_sha(commit):
            raise InvalidRequest(f"Not a full commit id: {commit[:80]!r}")
        if commit in self._refused:
            raise _refused(commit, self.display_uri)
        if not self.serve_unreachable and commit in self._forgotten:
            raise _unreachable(commit, commit)  # a host may still hold it: never fetch it back
        try:
            self._git(admin, "fetch", "--quiet", "--no-write-fetch-head", "--depth=1", "origin", commit)
        except Unavailable as exc:
            clean_failed_fetch(self.gitdir)
            if not any(reason in exc.message for reason in _REFUSALS):
                raise
            if len(self._refused) >= _REFUSED_MAX:
                self._refused.clear()
            self._refused.add(commit)
            raise _refused(commit, self.display_uri) from exc

    def refused(self, commit: str) -> bool:
        """Whether the remote already refused to send ``commit`` (no I/O; any thread)."""
        return commit in self._refused

    def refusal(self, commit: str) -> LabelNotFound:
        """The ``LabelNotFound`` for a commit the remote refuses to send, saying why."""
        return _refused(commit, self.display_uri)

    def _fetch_args(self) -> list[str]:
        depth = ["--depth=1"] if self.shallow else []
        prune = ["--prune"] if self.prune else []
        return [*prune, "--quiet", "--no-write-fetch-head", *depth, "origin", *_REFSPECS]

    def _fetch_into(self, admin: git.Git) -> RefSnapshot:
        """Fetch into the current generation; a failure that the clone's damage explains rebuilds it."""
        verified = self.status.last_error is not None  # checked once per run of failing fetches
        try:
            self._git(admin, "fetch", *self._fetch_args())
        except Unavailable:
            clean_failed_fetch(self.gitdir)  # else a full disk stays full after the push is undone
            damage = None if verified else self._damage(admin)
            if damage is None:
                raise
            self._broken = damage
            return self._rebuild()
        return self._read_refs(admin)

    def _damage(self, admin: git.Git) -> str | None:
        """Why the current generation cannot be trusted, or None if git finds it sound."""
        missing = missing_parts(self.gitdir)
        if missing:
            return f"the clone in {self.gitdir} lacks {', '.join(missing)}"
        try:
            self._git(admin, "fsck", "--connectivity-only", "--no-dangling", "--no-progress")
        except Unavailable as exc:
            return f"the clone in {self.gitdir} is damaged: {exc.message}"
        return None

    def _rebuild(self) -> RefSnapshot:
        """Clone afresh into the next generation and swap it in; the old one is deleted later."""
        old, fresh = self.gitdir, next_generation(self.basedir, after=self.gitdir)
        _log.warning("rebuilding the clone of %s in %s: %s", self.display_uri, fresh, self._broken)
        cmd = self._admin_for(fresh)
        try:
            self._claim_basedir()
            _init_bare(fresh)
            self._configure_remote(cmd)
            self._git(cmd, "fetch", *self._fetch_args())
            after = self._read_refs(cmd)
            set_current(self.basedir, fresh)
        except (ConfigServerError, OSError, git.GitError) as exc:
            shutil.rmtree(fresh, ignore_errors=True)
            if isinstance(exc, ConfigServerError):
                raise
            raise Unavailable(f"Cannot rebuild the clone of {self.display_uri}: {redact(str(exc))}") from exc
        previous, self._admin = self._admin, cmd
        self.gitdir, self._broken, self._suspect = fresh, None, False
        with self._retired_lock:
            self._retired.append(old)
        self._reader_stale = True  # the reader moves over at its next read, then deletes ``old``
        if previous is not None:
            previous.clear_cache()
        _log.warning("the clone of %s was rebuilt in %s", self.display_uri, fresh)
        return after

    def _rewrote(self, moved: Mapping[str, tuple[str | None, str | None]]) -> bool:
        """Whether a ref was deleted or moved to a commit that does not descend from its old one."""
        admin = self._admin
        assert admin is not None
        for old, new in moved.values():
            if old is None:
                continue
            if new is None:
                return True
            try:
                if self._git(admin, "merge-base", "--end-of-options", old, new).strip() != old:
                    return True
            except Unavailable:  # no common history (or the old commit is gone: shallow)
                return True
        return False

    def _forget_unreachable(self, old_tips: list[str]) -> None:
        """Drop the objects of commits no branch or tag reaches any more (after a rewrite), and
        remember those commits so a request for one is told why it is not served."""
        admin = self._admin
        assert admin is not None
        try:
            lost = self._git(admin, "rev-list", "--ignore-missing", *old_tips, "--not", "--all").split()
            if len(self._forgotten) + len(lost) > _FORGOTTEN_MAX:
                self._forgotten.clear()
            self._forgotten.update(lost)
            self._git(admin, "reflog", "expire", "--expire=now", "--all")
            self._git(admin, "repack", "-a", "-d", "-q")
            self._git(admin, "prune", "--expire=now")
        except Unavailable as exc:
            clean_failed_fetch(self.gitdir)
            _log.warning("cannot prune unreachable objects in %s: %s", self.gitdir, exc)

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
        remote has no ``main``. Raises ``InvalidRequest`` for a malformed label,
        ``LabelNotFound`` for an unknown or ambiguous one, or a commit no branch or tag of the
        remote reaches (unless ``serve_unreachable``; a shallow clone leaves that to the remote),
        and ``Unavailable`` when the clone cannot be read.
        """
        found = self.lookup(label)
        if found is not None:
            return found
        name = self.default_label if label is None else label
        prefix = commit_prefix(name)
        if prefix is None:
            raise LabelNotFound(name)
        repo = self._reader()
        try:
            out: str = self._git(repo.git, "rev-parse", f"--disambiguate={prefix}")
        except Unavailable:
            self._suspect = True  # rev-parse fails on a sound clone only when it vanished or broke
            raise
        commits = [sha for sha in out.split() if self._object_type(sha) == "commit"]
        if len(commits) > 1:
            # The plain "No such label" would mislead: the id exists, it is just too short.
            raise _label_not_found(
                name, f"Ambiguous label {name!r}: it abbreviates {len(commits)} commits; use more digits"
            )
        if not commits:
            lost = None if self.serve_unreachable else self._forgotten_match(prefix)
            raise LabelNotFound(name) if lost is None else _unreachable(name, lost)
        commit = commits[0]
        if not (self.serve_unreachable or self.shallow or self._reachable(commit)):
            raise _unreachable(name, commit)
        return commit

    def _forgotten_match(self, prefix: str) -> str | None:
        forgotten = self._forgotten
        if not forgotten:
            return None
        if prefix in forgotten:
            return prefix
        return next((sha for sha in list(forgotten) if sha.startswith(prefix)), None)

    def _reachable(self, commit: str) -> bool:
        try:
            out: str = self._git(
                self._reader().git,
                "for-each-ref",
                "--count=1",
                f"--contains={commit}",
                "--format=%(refname)",
                *_REF_ROOTS,
            )
        except Unavailable as exc:
            if "no such commit" in exc.message:  # pruned since rev-parse saw it: unreachable
                return False
            raise
        return bool(out.strip())

    def tree(self, commit: str) -> Tree:
        """The files and directories of ``commit`` (a full commit id).

        Raises ``InvalidRequest`` if ``commit`` is not 40 hex digits, ``LabelNotFound`` if there
        is no such commit.
        """
        if not is_full_sha(commit):
            raise InvalidRequest(f"Not a full commit id: {commit[:80]!r}")
        repo = self._reader()
        kind = self._object_type(commit)
        if kind is None and (self._broken or missing_parts(self.gitdir)):
            self._suspect = True
            raise Unavailable(f"The clone of {self.display_uri} is damaged and being rebuilt; retry shortly")
        if kind != "commit":
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
        listing = parse_listing(raw)
        for _ in listing.skipped:
            _log.warning("skipping a path that is not UTF-8 in %s at %s", self.display_uri, commit)
        follow_links(listing.files, listing.links, self.read_blob)
        return Tree(commit=commit, files=dict(sorted(listing.files.items())), dirs=frozenset(listing.dirs))

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
            if self._broken or missing_parts(self.gitdir):
                self._suspect = True
                raise Unavailable(f"The clone of {self.display_uri} is damaged and being rebuilt") from exc
            raise ResourceNotFound(f"No such blob: {blob}") from exc
        except (OSError, git.GitError) as exc:
            self._suspect = True
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
        return self.try_master and name == "main" and self.default_label == "main"

    def _reader(self) -> git.Repo:
        if self._repo is None:
            raise RuntimeError("GitRepository.open() has not been called")
        if self._reader_stale:  # a new generation was swapped in: drop cat-file processes of the old
            self._reader_stale = False  # first, so a swap during the open below is not lost
            try:
                fresh = self._open_reader()
            except Unavailable:
                self._reader_stale = True
                raise
            self._repo.close()
            self._repo = fresh
            self._discard_retired()
        return self._repo

    def _discard_retired(self) -> None:
        """Delete the generations the reader no longer uses."""
        with self._retired_lock:
            retired, self._retired = self._retired, []
        for old in retired:
            if old != self.gitdir:
                shutil.rmtree(old, ignore_errors=True)

    def _open_reader(self) -> git.Repo:
        try:
            repo = git.Repo(self.gitdir)
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
            self._suspect = True
            raise Unavailable(f"Cannot read the clone of {self.display_uri}: {exc}") from exc
        kind: bytes = info.type
        return kind.decode("ascii")

    def _environment(self) -> dict[str, str]:
        # GIT_DIR stops git from walking up into an enclosing repository should basedir break;
        # no terminal prompt, so a fetch that needs credentials fails instead of waiting forever.
        # The transport's part (TLS, proxy, ssh options, askpass path) holds no secret.
        return {**self._transport.environment(), "GIT_DIR": str(self.gitdir), "GIT_TERMINAL_PROMPT": "0"}

    def _new_git(self) -> git.Git:
        return self._admin_for(self.gitdir)

    def _admin_for(self, gitdir: Path) -> git.Git:
        """Git commands on ``gitdir`` (another generation than the current one for a rebuild)."""
        cmd = git.Git(gitdir)
        cmd.update_environment(**{**self._environment(), "GIT_DIR": str(gitdir)})
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
        """Make ``basedir`` (0700) hold our clone of this URI and point ``gitdir`` at its current
        generation, without losing user data. An old-layout clone (the repository in basedir
        itself) is moved into a first generation."""
        base = self.basedir
        try:
            base.mkdir(parents=True, exist_ok=True, mode=0o700)
            marker = base / MARKER
            if marker.is_file():
                owner = marker.read_text(encoding="utf-8").strip()
                if owner != self.display_uri:
                    _log.warning(
                        "re-cloning %s into %s (it held a clone of %s)", self.display_uri, base, owner
                    )
                    _empty(base)
            elif any(base.iterdir()):
                raise InvalidConfiguration(
                    str(base),
                    f"the git basedir is not empty and has no {MARKER} file, so it was not made by "
                    "this server; refusing to overwrite it (point basedir at an empty or new directory)",
                )
            self._claim_basedir()
            current = current_generation(base)
            if current is None and _is_bare_repository(base):
                current = self._migrate()
            if current is not None and _is_bare_repository(current):
                remove_stale_locks(current, older_than=self.timeout)
                self.gitdir = current
            else:  # nothing sound to reuse (a damaged old-layout clone): start from scratch
                _empty(base, keep=MARKER)
                fresh = next_generation(base)
                _init_bare(fresh)
                set_current(base, fresh)
                self.gitdir = fresh
            for old in generations(base):  # left by a rebuild that a stop interrupted
                if old != self.gitdir:
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise Unavailable(f"Cannot prepare the git basedir {base}: {exc.strerror or exc}") from exc
        except git.GitError as exc:
            raise Unavailable(f"Cannot create a bare repository in {base}: {redact(str(exc))}") from exc

    def _claim_basedir(self) -> None:
        """Make ``basedir`` 0700 and name this remote in its ``MARKER`` (if no marker is there)."""
        make_private(self.basedir)
        marker = self.basedir / MARKER
        if not marker.is_file():
            marker.write_text(self.display_uri + "\n", encoding="utf-8")

    def _migrate(self) -> Path:
        """Move an old-layout clone (basedir itself) into a first generation, by renames only."""
        base = self.basedir
        fresh = next_generation(base)
        make_private(fresh)
        for child in list(base.iterdir()):
            if child.name not in (MARKER, fresh.name):
                child.rename(fresh / child.name)
        set_current(base, fresh)
        _log.info("moved the clone in %s into %s", base, fresh)
        return fresh


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


def _init_bare(gitdir: Path) -> None:
    """An empty bare repository in ``gitdir`` (0700), a new generation."""
    make_private(gitdir)
    git.Repo.init(gitdir, bare=True, mkdir=False, quiet=True)


def _empty(base: Path, keep: str | None = None) -> None:
    for child in base.iterdir():
        if child.name == keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _label_not_found(label: str, message: str) -> LabelNotFound:
    """A ``LabelNotFound`` for ``label`` that says why in ``message``."""
    err = LabelNotFound(label)
    err.message = message
    err.args = (message,)
    return err


def _unreachable(label: str, commit: str) -> LabelNotFound:
    return _label_not_found(
        label,
        f"No such label: {label}: commit {commit} is not reachable from any branch or tag of the "
        "remote (its history was rewritten)",
    )


def _refused(commit: str, uri: str) -> LabelNotFound:
    return _label_not_found(
        commit,
        f"No such label: {commit}: it is outside the shallow clone and {uri} refuses to send it "
        "(the host allows no fetch of unadvertised commits, or no branch or tag reaches it)",
    )
