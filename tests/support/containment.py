"""Keep the suite inside the repository: a static scan and a runtime guard.

A test that reads a file beside the checkout (``../reference/...``) passes on the machine it was
written on and fails in every clean clone. Two checks keep that from happening:

* ``scan_source`` finds, without running anything, absolute paths under the directory that holds
  the repository and ``parents[N]`` or
  ``.parent.parent...`` chains on ``__file__`` that climb above the repository root (a line that
  names such a path as data says why in a ``# path-literal: <reason>`` comment);
  ``tests/test_repository.py`` runs it over every Python file of the repository's test and tool
  folders.
* ``OutsideReads`` is an audit hook (``sys.addaudithook``) that records every ``open``,
  ``os.listdir``, ``os.scandir`` and ``subprocess.Popen`` (its cwd and absolute arguments) naming
  a path inside the repository's *parent* directory but outside the repository. Loaded as a
  pytest plugin (``tests/conftest.py`` imports its hooks; ``-p tests.support.containment`` does it
  for any other run), it fails the test phase, or the collection, during which that happened.

What stays allowed: everything inside the repository (its ``.venv`` included), the temporary
directory, the interpreter's prefixes, and anything outside the parent directory (``/usr``,
``/proc``, ``/dev``, the home directory when the checkout is not in it). When the repository sits
directly under ``/`` there is no parent directory to fence.
A test that must look outside on purpose (only the guard's own tests) carries
``@pytest.mark.reads_outside_repository`` and reads what was recorded from the
``outside_reads`` fixture.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# CONTAINMENT_ROOT stands a scratch folder in for the repository: the guard's own end-to-end spec
# fences a checkout it makes under its tmp_path, so it never reads beside the real one.
REPO = Path(os.environ.get("CONTAINMENT_ROOT") or Path(__file__).resolve().parents[2]).resolve()
MARKER = "reads_outside_repository"
# A line that must name such a path as data (the fence itself) says why with this comment.
PRAGMA = "# path-literal:"
_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "subprocess.Popen"})


class OutsideReads:
    """An audit hook recording paths under ``root``'s parent directory that are not in ``root``.

    ``seen`` grows for the life of the process (audit hooks cannot be removed); readers take the
    entries added since an index of their own. Thread-safe: hooks run in whichever thread opened.
    """

    def __init__(self, root: Path, *, allowed: Sequence[str] = ()) -> None:
        self.root = str(root)
        self.fence = str(root.parent)
        self.allowed = tuple(os.path.abspath(a) for a in allowed)
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _EVENTS:
            return
        if event == "subprocess.Popen":
            _executable, argv, cwd, _env = args
            candidates = [cwd, *(argv if isinstance(argv, list | tuple) else [argv])]
            for candidate in candidates:
                path = _as_path(candidate)
                if path is not None and os.path.isabs(path):
                    self._check(event, path)
        elif args:
            path = _as_path(args[0])
            if path is not None:
                self._check(event, path)

    def leaves(self, path: str) -> bool:
        """Whether ``path`` (absolute or relative to the cwd) is beside the repository.

        Beside means under the parent directory (unless that is ``/``), and not in the
        repository itself, nor in an allowed directory that lies within the parent (``/tmp``
        excuses nothing under ``/tmp/fresh`` when the clone is ``/tmp/fresh/repo``).
        """
        full, fence = os.path.abspath(path), self.fence
        if fence == os.path.dirname(fence) or _within(full, self.root) or not _within(full, fence):
            return False
        return not any(_within(full, a) and _within(a, fence) for a in self.allowed)

    def since(self, index: int) -> list[str]:
        """What was recorded after the first ``index`` entries."""
        with self._lock:
            return self.seen[index:]

    def _check(self, event: str, path: str) -> None:
        if self.leaves(path):
            with self._lock:
                self.seen.append(
                    f"{event} {os.path.abspath(path)} (thread {threading.current_thread().name})"
                )


def _as_path(value: object) -> str | None:
    if isinstance(value, str | bytes | os.PathLike):
        try:
            decoded = os.fsdecode(value)
        except (TypeError, ValueError):
            return None
        return decoded or None
    return None  # a file descriptor, None, ...


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


GUARD = OutsideReads(REPO, allowed=[tempfile.gettempdir(), sys.prefix, sys.base_prefix, sys.exec_prefix])
sys.addaudithook(GUARD)


# --- the pytest plugin --------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: the test reads beside the repository on purpose (the guard's own tests)"
    )


class _Cursor:
    """How much of ``GUARD.seen`` has been charged to a test phase or a collection already."""

    consumed = 0

    @classmethod
    def take(cls) -> list[str]:
        found = GUARD.since(cls.consumed)
        cls.consumed += len(found)
        return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Fail the setup, call or teardown phase during which a path beside the repository was used.

    What a background thread records between two phases is charged to the next one.
    """
    report = yield
    found = _Cursor.take()
    if found and report.passed and item.get_closest_marker(MARKER) is None:
        report.outcome = "failed"
        report.longrepr = _message(found)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Fail the collection of a module that used a path beside the repository while importing."""
    report = yield
    found = _Cursor.take()
    if found and report.passed:
        report.outcome = "failed"
        report.longrepr = _message(found)
    return report


@pytest.fixture
def outside_reads() -> Iterator[list[str]]:
    """What the guard records during the test (use with ``@pytest.mark.reads_outside_repository``)."""
    start = len(GUARD.since(0))
    found: list[str] = []
    yield found
    found.extend(GUARD.since(start))


def _message(found: list[str]) -> str:
    return (
        f"the test used paths beside the repository {REPO} (tests read nothing outside it; "
        "put vectors under tests/support/vectors/):\n  " + "\n  ".join(found)
    )


# --- the static scan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Escape:
    """A place in a source file that names a path outside the repository."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def scan_source(source: str, relpath: Path, *, fences: Sequence[str]) -> list[Escape]:
    """The escapes in ``source``, a file at ``relpath`` from the repository root.

    ``fences`` are absolute directories no string literal may name or lie under (the
    repository's parent); ``/`` is never a fence.
    """
    fences = [f.rstrip("/") for f in fences if f.rstrip("/")]
    excused = {n for n, line in enumerate(source.splitlines(), 1) if PRAGMA in line}
    found: list[Escape] = []
    depth = len(relpath.parts)  # file.parents[depth - 1] is the repository root
    links: set[int] = set()  # inner links of a .parent chain, counted at its head
    for node in ast.walk(ast.parse(source, filename=str(relpath))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.lineno not in excused:
            for fence in fences:
                if _within(node.value, fence):
                    found.append(Escape(str(relpath), node.lineno, f"absolute path {node.value!r}"))
                    break
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
            and _mentions_file(node.value.value)
            and node.slice.value >= depth
        ):
            found.append(
                Escape(str(relpath), node.lineno, f"parents[{node.slice.value}] climbs above the root")
            )
        elif isinstance(node, ast.Attribute) and node.attr == "parent" and id(node) not in links:
            chain, base = _parent_chain(node, links)
            if chain > depth and _mentions_file(base):
                found.append(Escape(str(relpath), node.lineno, f"{chain} x .parent climbs above the root"))
    return found


def _mentions_file(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def _parent_chain(node: ast.Attribute, links: set[int]) -> tuple[int, ast.AST]:
    """How many ``.parent`` links end at ``node``, and what the first one is applied to."""
    count = 0
    current: ast.AST = node
    while isinstance(current, ast.Attribute) and current.attr == "parent":
        count += 1
        links.add(id(current))
        current = current.value
    return count, current


def scan_tree(root: Path, folders: Sequence[str]) -> list[Escape]:
    """``scan_source`` over every ``.py`` file under ``folders`` of ``root``."""
    fences = [] if root.parent == Path(root.anchor) else [str(root.parent)]
    found: list[Escape] = []
    for folder in folders:
        for file in sorted((root / folder).rglob("*.py")):
            if ".venv" in file.parts:
                continue
            found.extend(scan_source(file.read_text(), file.relative_to(root), fences=fences))
    return found
