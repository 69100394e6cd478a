"""``git daemon`` on loopback: a remote the server cannot watch on disk (only fetches see it)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.gitrepo import GitRemote

__all__ = ["git_daemon", "serve_git"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def git_daemon(remote: GitRemote) -> Iterator[str]:
    """Serve ``remote`` read-only with ``git daemon``; yields its ``git://127.0.0.1:PORT/...`` URL."""
    with serve_git(remote.root) as port:
        yield f"git://127.0.0.1:{port}/{remote.bare.name}"


@contextlib.contextmanager
def serve_git(root: Path) -> Iterator[int]:
    """Serve every repository under ``root`` read-only with ``git daemon`` (``root`` its base
    path); yields the port."""
    port = _free_port()
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
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("git daemon did not start") from None
                time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)
