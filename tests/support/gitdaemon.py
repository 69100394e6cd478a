"""``git daemon`` on loopback: a remote the server cannot watch on disk (only fetches see it)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.gitrepo import GitRemote
from tests.support.processes import accepts, free_port, stop_process, wait_started

__all__ = ["git_daemon", "serve_git"]


@contextlib.contextmanager
def git_daemon(remote: GitRemote) -> Iterator[str]:
    """Serve ``remote`` read-only with ``git daemon``; yields its ``git://127.0.0.1:PORT/...`` URL."""
    with serve_git(remote.root) as port:
        yield f"git://127.0.0.1:{port}/{remote.bare.name}"


@contextlib.contextmanager
def serve_git(root: Path) -> Iterator[int]:
    """Serve every repository under ``root`` read-only with ``git daemon`` (``root`` its base
    path); yields the port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={root}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_started(proc, lambda: accepts("127.0.0.1", port), name="git daemon", step=0.02)
        yield port
    finally:
        stop_process(proc)
