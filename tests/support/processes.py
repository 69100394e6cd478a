"""What every helper that runs a server process for the tests (OpenBao, Prometheus, Node, sshd,
nginx, git daemon) needs: a free port, a wait until the process is ready, a stop, its log."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

__all__ = ["accepts", "answers_200", "free_port", "read_log", "stop_process", "wait_started"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def answers_200(url: str) -> bool:
    """Whether ``GET url`` answers 200 within a second (False when it cannot connect)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_started(
    process: subprocess.Popen[Any],
    ready: Callable[[], bool],
    *,
    name: str,
    log: Path | None = None,
    timeout: float = 10.0,
    step: float = 0.05,
) -> None:
    """Poll ``ready()`` until it is true while ``process`` runs.

    Raises ``RuntimeError`` (``name``, why, and what it wrote to ``log``) when the process exits
    first or ``timeout`` seconds pass; the process is stopped then.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            why = f"exited with status {process.returncode} during start-up"
        elif time.monotonic() > deadline:
            why = f"not ready after {timeout:g} s"
        else:
            time.sleep(step)
            continue
        stop_process(process)
        raise RuntimeError(f"{name} {why}" + (f"; log:\n{read_log(log)}" if log is not None else ""))


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
