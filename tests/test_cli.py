"""Specification of the command line: --version, and start-up failures as one line with an exit code."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config_server import __version__
from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config_server", *args], capture_output=True, text=True, timeout=timeout
    )


def test_version_prints_the_package_version() -> None:
    """config-server --version names the installed version."""
    done = run("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"config-server {__version__}")


def test_a_busy_port_is_one_line_and_exit_1(git_remote: GitRemote, tmp_path: Path) -> None:
    """A port another process holds is a resource problem: one line that says how to fix it, exit 1."""
    git_remote.write({"application.yml": "a: 1\n"})
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = run("serve", "--repo", git_remote.uri, "--basedir", str(tmp_path / "c"), "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"config-server: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another process has the port: stop it or choose another --port)"
    )
    assert "Traceback" not in done.stderr


def test_a_bad_setting_found_during_start_up_is_one_line_and_exit_2(
    git_remote: GitRemote, tmp_path: Path
) -> None:
    """--encrypt-primary naming no key fails after git started: one line, exit 2, nothing left running."""
    git_remote.write({"application.yml": "a: 1\n"})
    done = run(
        "serve", "--repo", git_remote.uri, "--basedir", str(tmp_path / "c"), "--port", "0",
        "--encrypt-key", "k", "--encrypt-primary", "nosuch",
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.splitlines()[-1] == "config-server: --encrypt-primary names an unknown key alias 'nosuch'"
    )
    assert "Traceback" not in done.stderr


def test_an_unreachable_repository_is_exit_1(tmp_path: Path) -> None:
    """A remote that cannot be cloned is a resource problem (retry later): exit 1, one line."""
    done = run(
        "serve", "--repo", str(tmp_path / "nosuch.git"), "--basedir", str(tmp_path / "c"), "--port", "0"
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("config-server: Cannot clone ")
    assert "Traceback" not in done.stderr


def test_a_malformed_flag_is_exit_2(tmp_path: Path) -> None:
    """A value that does not parse is a settings error before anything starts: exit 2."""
    done = run("serve", "--repo", "x", "--port", "eighty")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "config-server: invalid value for --port: invalid literal for int() with base 10: 'eighty'"
    )


def test_sigterm_stops_the_server_at_once_and_cleanly(git_remote: GitRemote, tmp_path: Path) -> None:
    """SIGTERM (a rollout, Ctrl-C) answers held long polls, closes every resource and exits 0 at once."""
    import signal
    import threading
    import time
    import urllib.error
    import urllib.request

    git_remote.write({"application.yml": "a: 1\n"})
    argv = ["--repo", git_remote.uri, "--basedir", str(tmp_path / "c"), "--port", "0"]
    with server_process(argv) as server:  # port 0: no free port to pick and lose to another process
        url = f"{server.url}/application/default"
        with urllib.request.urlopen(url, timeout=10) as r:
            etag = r.headers["ETag"]
        held: list[int] = []

        def long_poll() -> None:
            request = urllib.request.Request(url, headers={"If-None-Match": etag, "Prefer": "wait=60"})
            try:
                urllib.request.urlopen(request, timeout=60)
            except urllib.error.HTTPError as answer:  # 304 Not Modified
                held.append(answer.code)

        poller = threading.Thread(target=long_poll)
        poller.start()
        deadline = time.monotonic() + 10
        while "config_long_polls_open 1.0" not in _get(f"{server.url}/actuator/prometheus"):
            assert time.monotonic() < deadline, "the long poll was not held"
            time.sleep(0.05)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        stopped = time.monotonic() - started
        poller.join(5)
    assert server.process.returncode == 0 and stopped < 10
    assert held == [304]
    assert "Traceback" not in server.output and "stopping" in server.output


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--port", "70000"],
            "config-server: invalid value for --port: must be a port number from 0 to 65535 "
            "(0: any free port), not 70000",
        ),
        (
            ["--port", "0", "--host", "999.1.1.1", "--allow-anonymous"],
            "config-server: cannot resolve --host 999.1.1.1: Name or service not known (check --host)",
        ),
    ],
    ids=["port-out-of-range", "host-that-cannot-resolve"],
)
def test_a_bad_address_is_one_line_and_exit_2(
    git_remote: GitRemote, tmp_path: Path, args: list[str], line: str
) -> None:
    """A port out of range or a host that cannot exist is a setting to fix: one line, exit 2."""
    git_remote.write({"application.yml": "a: 1\n"})
    done = run("serve", "--repo", git_remote.uri, "--basedir", str(tmp_path / "c"), *args)
    assert (done.returncode, done.stderr.splitlines()[-1]) == (2, line)
    assert "Traceback" not in done.stderr
