"""A commit's tree as ``git ls-tree -r -t -z --full-tree`` lists it, and the symlink rule (pure).

Shared by the server's clone (``repository``) and ``validate`` (``validation.snapshot``), so
both see the same files: paths that are not UTF-8 are skipped, and a symlink counts as the file
it ends at when that is a file inside the repository (bounded hops).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Listing", "follow_links", "parse_listing"]

_SYMLINK_HOPS = 8


@dataclass(frozen=True, slots=True)
class Listing:
    """``files`` and ``links`` map paths to blob ids; ``dirs`` has every directory (``""`` the
    root); ``skipped`` the raw paths that are not UTF-8."""

    files: dict[str, str]
    links: dict[str, str]
    dirs: set[str]
    skipped: list[bytes]


def parse_listing(raw: bytes) -> Listing:
    """The entries of ``git ls-tree -r -t -z`` output."""
    listing = Listing({}, {}, {""}, [])
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split(" ")
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError:
            listing.skipped.append(raw_path)
            continue
        if kind == "tree":
            listing.dirs.add(path)
        elif kind == "blob":
            (listing.links if mode == "120000" else listing.files)[path] = sha
    return listing


def follow_links(files: dict[str, str], links: Mapping[str, str], read: Callable[[str], bytes]) -> None:
    """Add to ``files`` each symlink that ends at a file inside the repository, as that file's
    blob; ``read`` gives a link blob's bytes (its target)."""
    for path, sha in links.items():
        target = _follow(path, read(sha), files, links, read)
        if target is not None:
            files[path] = target


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
