"""The repository stands on its own: no test reads anything beside it (tests/support/containment.py)."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.containment import REPO, OutsideReads, scan_source, scan_tree

# A clone at /srv/ci/repo; /srv/ci/sibling stands for any folder beside it (made-up paths: the
# guard is given them as data, nothing here reads them).
CLONE = "/srv/ci/repo"
BESIDE = "/srv/ci/sibling/data"
FENCES = ["/srv/ci"]
# Every folder whose Python code runs in `make test`, `make run` or `make bench`.
SCANNED = ["tests", "scripts", "examples", "bench"]


def scan(source: str, relpath: str = "tests/http/test_x.py") -> list[str]:
    return [e.what for e in scan_source(textwrap.dedent(source), Path(relpath), fences=FENCES)]


def test_no_source_names_a_path_beside_the_repository() -> None:
    """No test, script, example or benchmark hard-codes a path beside the checkout or climbs out."""
    assert [str(e) for e in scan_tree(REPO, SCANNED)] == []


def test_the_scan_finds_a_hard_coded_absolute_path() -> None:
    """A literal under the repository's parent directory is an escape."""
    assert scan(f"VECTORS = Path({BESIDE!r})\n") == [f"absolute path {BESIDE!r}"]


def test_the_scan_finds_parents_climbing_above_the_root() -> None:
    """tests/http/x.py: two levels up is the repository root, three levels up is outside it."""
    up = "Path(__file__).resolve().parents"
    source = f"A = {up}[2]\nB = {up}[{2 + 1}] / 'x'\n"
    assert scan(source) == [f"parents[{2 + 1}] climbs above the root"]


def test_the_scan_finds_a_parent_chain_climbing_above_the_root() -> None:
    """tests/x.py: two .parent links reach the root, three leave it (reported once)."""
    source = "A = Path(__file__).parent.parent\nB = Path(__file__).parent.parent.parent / 'ref'\n"
    assert scan(source, "tests/x.py") == ["3 x .parent climbs above the root"]


def test_the_scan_leaves_data_paths_alone() -> None:
    """Absolute paths elsewhere are test data (a repo URI, a traversal attempt), not reads."""
    assert scan('URIS = ["/srv/config.git", "/etc/passwd", "file:///srv/c.git"]\n') == []


def test_a_path_literal_with_a_reason_is_excused() -> None:
    """A line that names such a path as data says so with a ``# path-literal:`` comment."""
    assert scan(f"ROOT = {BESIDE!r}  # path-literal: the fence itself\n") == []


# Audit hooks cannot be removed: one forwarding hook serves the probes the specs below install.
_PROBES: list[OutsideReads] = []
sys.addaudithook(lambda event, args: [probe(event, args) for probe in list(_PROBES)])


def test_opening_a_file_beside_the_repository_is_recorded(tmp_path: Path) -> None:
    """The runtime guard records a real open() of a path in the repository's parent directory.

    A checkout made under tmp_path stands in for the repository, so nothing beside the real one
    is touched.
    """
    probe = OutsideReads(tmp_path / "repo")
    beside = tmp_path / "no-such-file-beside-the-repository"
    _PROBES.append(probe)
    try:
        with pytest.raises(OSError):
            beside.read_bytes()  # the audit event fires before the open fails
    finally:
        _PROBES.remove(probe)
    assert probe.seen and str(beside) in probe.seen[-1]


def test_paths_inside_the_repository_tmp_and_the_system_are_allowed(tmp_path: Path) -> None:
    """The repository itself, the temporary directory and anything outside its parent pass."""
    guard = OutsideReads(Path(CLONE), allowed=[str(tmp_path)])
    assert not guard.leaves(f"{CLONE}/tests/support/vectors/keystore.bin")
    assert not guard.leaves(str(tmp_path / "x"))
    assert not guard.leaves("/usr/lib/python3/os.py")
    assert guard.leaves(f"{BESIDE}/keystore.bin")
    assert guard.leaves(f"{CLONE}-other/x")


def test_a_subprocess_argument_beside_the_repository_is_recorded() -> None:
    """git clone of a sibling folder is caught: the hook reads Popen's cwd and absolute arguments."""
    guard = OutsideReads(Path(CLONE))
    guard("subprocess.Popen", ("git", ["git", "clone", f"{BESIDE}/x", "out"], None, None))
    guard("subprocess.Popen", ("git", ["git", "status"], CLONE, None))
    assert [s.split(" (")[0] for s in guard.seen] == [f"subprocess.Popen {BESIDE}/x"]


def test_a_wider_allowed_directory_does_not_open_the_fence() -> None:
    """With the clone in /srv/ci/repo and /srv allowed, /srv/ci/sibling is still beside it."""
    guard = OutsideReads(Path(CLONE), allowed=["/srv"])
    assert guard.leaves(f"{BESIDE}/x")
    assert not guard.leaves("/srv/elsewhere/x")


def test_a_repository_under_the_filesystem_root_fences_nothing() -> None:
    """With the checkout at /repo there is no parent to fence (/usr, /proc are its siblings)."""
    assert not OutsideReads(Path("/repo")).leaves("/usr/lib/x")


def test_a_test_that_reads_beside_the_repository_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the plugin turns a passing test that opens a file beside it into a failure naming the path.

    The fenced checkout is a folder of pytester's (CONTAINMENT_ROOT), never the real repository.
    """
    root = pytester.path
    (root / "README.md").write_text("inside\n")
    beside = root.parent / "no-such-file-beside-the-repository"
    pytester.makepyfile(
        test_escape=f"""
        from pathlib import Path

        def test_reads_beside():
            try:
                Path({str(beside)!r}).read_bytes()
            except OSError:
                pass

        def test_reads_inside():
            Path({str(root / "README.md")!r}).read_bytes()
        """
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("CONTAINMENT_ROOT", str(root))
    result = pytester.runpytest_subprocess("-p", "tests.support.containment", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_reads_beside*", f"*open {beside}*"])
