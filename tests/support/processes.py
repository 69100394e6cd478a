"""What every helper that runs a server process for the tests (OpenBao, Prometheus, Node) needs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

__all__ = ["read_log", "stop_process"]


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 5.0) -> None:
    """Terminate ``proc`` if it still runs; kill it if it has not exited after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def read_log(path: Path) -> str:
    """The text a process has written to ``path`` so far ("" when there is none), for failure messages."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
