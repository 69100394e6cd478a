"""The pure half of the git backend: label rules, ref snapshots and credential-free URIs. No I/O.

Labels come straight from request URLs, so they are checked here, in Python, before git ever
sees them: a label that is not a well-formed ref name (git's ``check-ref-format`` rules) is an
``InvalidRequest``. Branch and tag labels are then answered from a ``RefSnapshot`` taken after each
fetch, so git is only ever called with fully qualified refs or validated hexadecimal ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from config_server.errors import InvalidRequest

__all__ = [
    "MAX_LABEL_LENGTH",
    "RefSnapshot",
    "check_label",
    "commit_prefix",
    "display_uri",
    "is_full_sha",
    "local_path",
    "one_line",
    "redact",
]

MAX_LABEL_LENGTH = 255
BRANCH_PREFIX = "refs/remotes/origin/"
TAG_PREFIX = "refs/tags/"

_FORBIDDEN_CHARS = frozenset(" ~^:?*[\\")
_HEX = re.compile(r"[0-9a-fA-F]{7,40}")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
# scheme://userinfo@host... ; userinfo may hold a password or a token, so all of it goes.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'\"]*@")


def _shown(label: str) -> str:
    """The label for an error message: escaped (repr) and cut short, never raw hostile text."""
    return repr(label if len(label) <= 80 else label[:77] + "...")


def check_label(label: str) -> str:
    """Return ``label`` if it is a well-formed ref name, else raise ``InvalidRequest``.

    These are git's ``check-ref-format`` rules, plus: no leading ``-`` (so a label can never be
    read as an option) and at most 255 characters. Slashes are allowed (``feature/x``); ``..``,
    ``//``, ``@{``, control characters, space and ``~^:?*[\\`` are not.
    """
    problem = _label_problem(label)
    if problem is not None:
        raise InvalidRequest(f"Invalid label {_shown(label)}: {problem}")
    return label


def _label_problem(label: str) -> str | None:
    if not label:
        return "it is empty"
    if len(label) > MAX_LABEL_LENGTH:
        return f"longer than {MAX_LABEL_LENGTH} characters"
    if label.startswith("-"):
        return "it must not start with '-'"
    if label == "@":
        return "'@' alone is not a ref name"
    for ch in label:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            return "it must not contain control characters"
        if ch in _FORBIDDEN_CHARS:
            return f"it must not contain {ch!r}"
    if ".." in label:
        return "it must not contain '..'"
    if "@{" in label:
        return "it must not contain '@{'"
    if label.startswith("/") or label.endswith("/") or "//" in label:
        return "it must not start or end with '/' or contain '//'"
    if label.endswith("."):
        return "it must not end with '.'"
    for part in label.split("/"):
        if part.startswith("."):
            return "no '/'-separated part may start with '.'"
        if part.endswith(".lock"):
            return "no '/'-separated part may end with '.lock'"
    return None


def commit_prefix(label: str) -> str | None:
    """The label as a lower-case commit id (full or abbreviated to >= 7 digits), else ``None``."""
    return label.lower() if _HEX.fullmatch(label) else None


def is_full_sha(text: str) -> bool:
    """Whether ``text`` is a full, lower-case, 40-digit object id."""
    return _FULL_SHA.fullmatch(text) is not None


def display_uri(uri: str) -> str:
    """The URI without credentials and without trailing ``/``; used in property-source names.

    ``https://user:token@host/org/repo/`` → ``https://host/org/repo``. A URL with no path keeps
    one ``/`` (``git://localhost`` → ``git://localhost/``), as Spring does. scp-like
    ``git@host:org/repo`` and plain paths are kept (a user name there is not a secret).
    """
    cleaned = _USERINFO.sub(r"\g<scheme>", uri.strip()).rstrip("/")
    _, sep, rest = cleaned.partition("://")
    if sep and "/" not in rest:
        return cleaned + "/"
    return cleaned or uri


def local_path(uri: str) -> Path | None:
    """The filesystem path of a local remote (a path or a ``file:`` URL), else ``None``.

    Follows git's rule for the rest: ``scheme://...`` is a URL and ``host:path`` (a colon before
    the first slash) is scp-like ssh; everything else is a path.
    """
    if uri.startswith("file:"):
        rest = uri[len("file:") :]
        if rest.startswith("//"):
            host, slash, path = rest[2:].partition("/")
            if host not in ("", "localhost"):
                return None
            return Path(unquote(slash + path))
        return Path(unquote(rest))
    if "://" in uri:
        return None
    head = uri.split("/", 1)[0]
    if ":" in head:
        return None
    return Path(uri)


def redact(text: str) -> str:
    """``text`` with the user-info part of every URL in it removed."""
    return _USERINFO.sub(r"\g<scheme>", text)


def one_line(text: str, *, limit: int = 300) -> str:
    """The most telling line of a git error (its ``fatal:``/``error:`` line), redacted and capped."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    chosen = next(
        (ln for ln in reversed(lines) if ln.startswith(("fatal:", "error:", "Timeout:"))),
        lines[0] if lines else "unknown error",
    )
    chosen = redact(chosen)
    return chosen if len(chosen) <= limit else chosen[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class RefSnapshot:
    """Branches and tags of the remote as last fetched, each mapped to the commit it names.

    Annotated tags are already peeled; refs that name something other than a commit are left out.
    """

    branches: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, output: str) -> RefSnapshot:
        """Read ``git for-each-ref`` lines formatted as ``objectname objecttype *objectname
        *objecttype refname`` (tab-separated; the starred fields empty unless the ref is a tag)."""
        branches: dict[str, str] = {}
        tags: dict[str, str] = {}
        for line in output.splitlines():
            parts = line.split("\t")
            if len(parts) != 5:
                continue
            sha, kind, peeled_sha, peeled_kind, ref = parts
            commit = sha if kind == "commit" else peeled_sha if peeled_kind == "commit" else None
            if commit is None:
                continue
            if ref.startswith(BRANCH_PREFIX):
                name = ref[len(BRANCH_PREFIX) :]
                if name != "HEAD":
                    branches[name] = commit
            elif ref.startswith(TAG_PREFIX):
                tags[ref[len(TAG_PREFIX) :]] = commit
        return cls(branches=branches, tags=tags)

    def lookup(self, label: str) -> str | None:
        """The commit a branch (first) or tag named ``label`` points at, else ``None``."""
        found = self.branches.get(label)
        return found if found is not None else self.tags.get(label)

    def as_remote_refs(self) -> dict[str, str]:
        """Every ref under the name the remote uses: ``refs/heads/X`` and ``refs/tags/X``."""
        refs = {f"refs/heads/{name}": sha for name, sha in self.branches.items()}
        refs.update({f"{TAG_PREFIX}{name}": sha for name, sha in self.tags.items()})
        return refs

    def moved(self, after: RefSnapshot) -> dict[str, tuple[str | None, str | None]]:
        """Refs that differ in ``after``: ``refs/heads/X`` or ``refs/tags/X`` → (old, new) commit.

        A ref that appeared has ``old`` None; one that was deleted has ``new`` None.
        """
        old, new = self.as_remote_refs(), after.as_remote_refs()
        return {
            name: (old.get(name), new.get(name))
            for name in sorted(old.keys() | new.keys())
            if old.get(name) != new.get(name)
        }
