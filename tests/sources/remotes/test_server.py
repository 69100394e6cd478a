"""End to end: ``config-server serve`` as a process, cloning a private HTTPS remote with a token
file given by environment variable, and failing to start with a reason a user can act on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.sources.remotes.conftest import TOKEN, all_files_text
from tests.support.git_https import USER, GitHttps
from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process


def failed_start(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``config-server serve ARGV`` as a process run to its end, with only ``env`` of the
    ``CONFIG_SERVER_*`` variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFIG_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "config_server", "serve", *argv],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_server_serves_a_private_https_remote(
    git_https: GitHttps, served: GitRemote, tmp_path: Path
) -> None:
    """serve --repo https://... with CONFIG_SERVER_GIT_PASSWORD_FILE answers from the remote; the
    token is in no log line, no argument list and no file of the clone."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    basedir = tmp_path / "clone"
    argv = ["--repo", git_https.uri("remote.git"), "--basedir", str(basedir), "--port", "0"]
    env = {
        "CONFIG_SERVER_GIT_USERNAME": USER,
        "CONFIG_SERVER_GIT_PASSWORD_FILE": str(token_file),
        "CONFIG_SERVER_GIT_CA_FILE": str(git_https.ca_file),
    }
    with server_process(argv, env=env) as server:
        with urllib.request.urlopen(f"{server.url}/a/default") as response:
            body = json.load(response)
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
    assert body["propertySources"][0]["source"]["a"] == 1
    assert body["propertySources"][0]["name"].startswith(git_https.uri("remote.git"))
    assert TOKEN not in server.output and TOKEN.encode() not in cmdline
    assert TOKEN.encode() not in all_files_text(basedir)


def test_a_wrong_token_stops_the_start_with_the_reason(git_https: GitHttps, tmp_path: Path) -> None:
    """With a wrong token the server exits 1 saying "Cannot clone ...: ... authentication failed"."""
    argv = ["--repo", git_https.uri("remote.git"), "--basedir", str(tmp_path / "clone"), "--port", "0"]
    argv += ["--git-username", USER, "--git-timeout", "5"]
    done = failed_start(
        argv, CONFIG_SERVER_GIT_PASSWORD="wrong-token-321", CONFIG_SERVER_GIT_CA_FILE=str(git_https.ca_file)
    )
    assert done.returncode == 1, done.stderr
    assert "Cannot clone https://127.0.0.1:" in done.stderr and "authentication failed" in done.stderr
    assert "wrong-token-321" not in done.stderr + done.stdout


def test_a_missing_known_hosts_file_stops_the_start_naming_it(tmp_path: Path) -> None:
    """A --git-known-hosts file that does not exist is a setting to fix: exit 2, naming the file."""
    missing = tmp_path / "known_hosts"
    argv = ["--repo", "ssh://git@127.0.0.1:1/r.git", "--basedir", str(tmp_path / "clone"), "--port", "0"]
    argv += ["--git-known-hosts", str(missing)]
    done = failed_start(argv)
    assert done.returncode == 2, done.stderr
    assert f"{missing}" in done.stderr and "known_hosts" in done.stderr
