"""The git basedir on disk: generations of the clone, the pointer to the current one, the disk.

``basedir`` (mode 0700, no secret in it) holds the ``MARKER`` file naming the remote, a
``current`` file naming the generation being served, and the generations themselves, each a bare
repository in ``clone-<n>/``. A broken clone is replaced by building the next generation beside
it and rewriting ``current`` atomically, so the old objects keep serving until the new clone is
complete. Blocking file-system helpers only; ``repository`` decides when to call them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CURRENT",
    "MARKER",
    "DiskSpace",
    "clean_failed_fetch",
    "current_generation",
    "disk_space",
    "generations",
    "make_private",
    "missing_parts",
    "next_generation",
    "remove_stale_locks",
    "set_current",
]

_log = logging.getLogger(__name__)

MARKER = ".config-server-clone"
"""File in basedir naming the remote it clones: proof the directory is ours to wipe."""
CURRENT = "current"
"""File in basedir naming the generation directory being served (replaced atomically)."""
_GENERATION = re.compile(r"clone-(\d+)")
_LOW_DISK_BYTES = 64 * 1024 * 1024
_LOW_DISK_SHARE = 0.05
# What git leaves behind when a fetch dies half-way (a full disk, a kill): object and pack
# temporaries. Each failed attempt leaves new ones, so a full disk would stay full for good.
_TEMPORARIES = ("tmp_obj_*", "tmp_pack_*", "tmp_idx_*", "tmp_rev_*", "tmp_mtimes_*", ".tmp-*")


@dataclass(frozen=True, slots=True)
class DiskSpace:
    """Free space of the file system holding basedir."""

    free_bytes: int
    total_bytes: int

    @property
    def low(self) -> bool:
        """Less than 64 MiB and less than 5 % of the file system free: the next fetch may fail."""
        return self.free_bytes < min(_LOW_DISK_BYTES, self.total_bytes * _LOW_DISK_SHARE)


def disk_space(path: Path) -> DiskSpace | None:
    """The disk space where ``path`` lives (None if it cannot be read). One ``statvfs`` call."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskSpace(free_bytes=usage.free, total_bytes=usage.total)


def make_private(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700: clones of private repositories live there."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def generations(base: Path) -> list[Path]:
    """The generation directories in ``base``, oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for child in base.iterdir():
            match = _GENERATION.fullmatch(child.name)
            if match and child.is_dir() and not child.is_symlink():
                found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def next_generation(base: Path, after: Path | None = None) -> Path:
    """A new, not yet existing generation directory in ``base``, numbered after the newest and
    after ``after`` (the one in use, even if it was deleted: a name is never reused while served)."""
    numbers = [_number(path) for path in generations(base)]
    if after is not None and _GENERATION.fullmatch(after.name):
        numbers.append(_number(after))
    return base / f"clone-{max(numbers, default=0) + 1}"


def _number(generation: Path) -> int:
    return int(generation.name.split("-")[1])


def current_generation(base: Path) -> Path | None:
    """The generation ``current`` names, if that file names an existing generation directory."""
    try:
        name = (base / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not _GENERATION.fullmatch(name) or not (base / name).is_dir():
        return None
    return base / name


def set_current(base: Path, generation: Path) -> None:
    """Point ``current`` at ``generation`` atomically (write a temporary file, then rename).

    Writes nothing when it already points there (a full disk must not stop a start).
    """
    if current_generation(base) == generation:
        return
    staged = base / (CURRENT + ".tmp")
    staged.write_text(generation.name + "\n", encoding="utf-8")
    os.replace(staged, base / CURRENT)


def missing_parts(gitdir: Path) -> list[str]:
    """What a bare repository needs and ``gitdir`` lacks (``HEAD``, ``config``, ``objects``...)."""
    needed = {"HEAD": Path.is_file, "config": Path.is_file, "objects": Path.is_dir, "refs": Path.is_dir}
    missing = []
    for name, check in needed.items():
        try:
            if not check(gitdir / name):
                missing.append(name)
        except OSError:
            missing.append(name)
    if "HEAD" not in missing:
        with contextlib.suppress(OSError):
            head = (gitdir / "HEAD").read_bytes()
            if not (head.startswith(b"ref: refs/") or re.fullmatch(rb"[0-9a-f]{40}\n?", head)):
                missing.append("a valid HEAD")
    return missing


def clean_failed_fetch(gitdir: Path) -> int:
    """Delete the temporary files a failed fetch left in ``gitdir``; returns how many.

    Only call while no git process writes to ``gitdir`` (the fetcher thread, after its fetch).
    """
    removed = 0
    objects = gitdir / "objects"
    for pattern in _TEMPORARIES:
        for path in [*objects.glob(pattern), *objects.glob(f"*/{pattern}")]:
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed += 1
            except OSError:
                continue
    if removed:
        _log.warning("removed %d temporary files a failed fetch left in %s", removed, gitdir)
    return removed


def remove_stale_locks(gitdir: Path, *, older_than: float) -> None:
    """Delete ref lock files a killed fetch left behind; they would make every later fetch fail."""
    cutoff = time.time() - older_than
    candidates = [
        gitdir / "packed-refs.lock",
        gitdir / "shallow.lock",
        gitdir / "config.lock",
        *gitdir.joinpath("refs").rglob("*.lock"),
    ]
    for lock in candidates:
        try:
            if lock.is_file() and lock.stat().st_mtime < cutoff:
                lock.unlink()
                _log.warning("removed stale git lock %s", lock)
        except OSError:
            continue
