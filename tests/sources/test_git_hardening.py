"""Security hardening of the git backend: which transports git may use, where hostile names lead."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from config_server.errors import InvalidConfiguration
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repository import GitRepository
from config_server.sources.git.transport import Transport
from tests.support.gitrepo import GitRemote


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://git.example.com/org/r.git", "https"),
        ("http://git.example.com/org/r.git", "http:https"),
        ("ssh://git@git.example.com/org/r.git", "ssh"),
        ("git@git.example.com:org/r.git", "ssh"),
        ("git://git.example.com/org/r.git", "git"),
        ("file:///srv/config.git", "file"),
        ("/srv/config.git", "file"),
    ],
)
def test_git_may_use_only_the_transport_of_the_configured_uri(uri: str, allowed: str) -> None:
    """GIT_ALLOW_PROTOCOL names the configured URI's transport only (file only for a local one)."""
    assert Transport(uri, RemoteAccess()).environment()["GIT_ALLOW_PROTOCOL"] == allowed


def test_a_remote_repository_cannot_make_git_read_local_files(tmp_path: Path) -> None:
    """With an https repository's environment, git refuses the file transport (alternates, redirects)."""
    local = GitRemote(tmp_path / "local")
    local.write({"a.yml": "a: 1\n"})
    env = {**os.environ, **Transport("https://git.example.com/r.git", RemoteAccess()).environment()}
    argv = ["git", "ls-remote", local.path]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert out.returncode != 0 and "transport 'file' not allowed" in out.stderr


@pytest.mark.parametrize("uri", ["ext::sh -c touch% {marker}", "fd::0", "ftp://h/r.git", "foo::bar"])
def test_a_uri_with_a_dangerous_or_unknown_transport_is_refused_before_git_runs(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ext::, fd:: and unknown transports are a configuration error, even if ~/.gitconfig allows them."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".gitconfig").write_text("[protocol]\n\tallow = always\n", encoding="utf-8")
    marker = tmp_path / "pwned"
    repo = GitRepository(uri=uri.format(marker=marker), basedir=tmp_path / "clone")
    try:
        with pytest.raises(InvalidConfiguration, match="transport"):
            repo.open()
    finally:
        repo.close()
    assert not marker.exists()
