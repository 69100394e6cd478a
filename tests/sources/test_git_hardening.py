"""Security hardening of the git backend: which transports git may use, where hostile names lead."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config_server.errors import InvalidConfiguration
from config_server.secret import Secret
from config_server.sources.base import Contribution, Query
from config_server.sources.git.patterns import GitRepositories
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repos import expand, parse_repos
from config_server.sources.git.repository import GitRepository
from config_server.sources.git.transport import Transport
from tests.sources.conftest import pattern_group
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


# --- template clones ----------------------------------------------------------------------------


def test_a_template_value_with_dot_segments_expands_to_nothing() -> None:
    """``..`` or ``.`` as a path segment of a value cannot climb out of the template's directory."""
    for value in ("..", "../other", "a/../../b", "a/./b", ".", "a/.."):
        assert expand("/srv/{application}/r.git", application=value, profile="p", label="l") is None
    assert expand("/srv/{application}/r.git", application="a.b/c..d", profile="p", label="l") == (
        "/srv/a.b/c..d/r.git"
    )


@pytest.fixture
async def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GitRepositories]:
    """A default repository and ``team-*`` -> ``<root>/{application}/remote.git``; a login; one clone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "remotes"
    for name in ("default", "team-a", "team-b"):
        GitRemote(root / name).write({"application.yml": f"who: {name}\n"})
    (spec,) = parse_repos({"teams": {"pattern": "team-*", "uri": f"{root}/{{application}}/remote.git"}})
    login = RemoteAccess(username="svc", password=Secret("tok-123"))
    group = pattern_group(
        str(root / "default" / "remote.git"), spec, tmp_path, access=login, refresh_rate=0.0, max_clones=1
    )
    await group.start()
    yield group
    await group.close()


def _who(contribution: Contribution) -> object:
    return contribution.sources[0].source["who"].value


async def test_an_evicted_template_clone_leaves_no_directory(teams: GitRepositories, tmp_path: Path) -> None:
    """The least recently used clone is closed and its directory removed (disk stays bounded)."""
    assert _who(await teams.read(Query(("team-a",), ("default",)), None)) == "team-a"
    assert _who(await teams.read(Query(("team-b",), ("default",)), None)) == "team-b"
    await teams.settle()
    assert len(list((tmp_path / "repos" / "teams").iterdir())) == 1
    assert _who(await teams.read(Query(("team-a",), ("default",)), None)) == "team-a"  # re-cloned


async def test_a_template_clone_that_fails_leaves_no_directory_nor_askpass(
    teams: GitRepositories, tmp_path: Path
) -> None:
    """A request for an application with no repository leaves nothing on disk (nor in the temp dir)."""
    askpass = set((tmp_path / "tmp").iterdir())  # the default repository's
    for n in range(3):
        assert _who(await teams.read(Query((f"team-nothing{n}",), ("default",)), None)) == "default"
    await teams.settle()
    assert list((tmp_path / "repos" / "teams").iterdir()) == []
    assert set((tmp_path / "tmp").iterdir()) == askpass


async def test_the_pattern_repositories_directories_are_private(
    teams: GitRepositories, tmp_path: Path
) -> None:
    """``<basedir>-repos`` and each template repository's directory in it are 0700, like the clones."""
    await teams.read(Query(("team-a",), ("default",)), None)
    for path in (tmp_path / "repos", tmp_path / "repos" / "teams"):
        assert path.stat().st_mode & 0o777 == 0o700, path


def test_proxy_credentials_reach_only_the_git_commands_that_talk_to_the_remote() -> None:
    """The proxy URL (it may hold a password) is in credentials(), not in every git process's environment."""
    t = Transport("https://h/r.git", RemoteAccess(proxy="http://pu:px-789@proxy:3128"))
    try:
        assert "px-789" not in " ".join(t.environment().values())
        env = {**os.environ, **t.environment(), **t.credentials()}
        argv = ["git", "config", "--get", "http.proxy"]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "http://pu:px-789@proxy:3128"
    finally:
        t.close()


@pytest.mark.parametrize("token", ["a$b'c\"d\\e%f`g", "$(touch {marker})", "-n", "%s%s"])
def test_the_askpass_script_prints_any_token_verbatim_and_runs_nothing(token: str, tmp_path: Path) -> None:
    """Shell- and printf-special characters in a token are answered as they are, never interpreted."""
    marker = tmp_path / "ran"
    token = token.format(marker=marker)
    t = Transport("https://h/r.git", RemoteAccess(username="u", password=Secret(token)))
    try:
        env = {"PATH": os.environ["PATH"], **t.environment(), **t.credentials()}
        out = subprocess.run(
            [env["GIT_ASKPASS"], "Password for 'https://u@h': "], env=env, capture_output=True, check=True
        )
    finally:
        t.close()
    assert out.stdout == token.encode() + b"\n" and not marker.exists()


def test_a_password_file_loses_only_its_line_ending(tmp_path: Path) -> None:
    """A token file written with a trailing newline (or CRLF) gives the token without it."""
    token_file = tmp_path / "token"
    for text in ("tok-1\n", "tok-1\r\n", "tok-1"):
        token_file.write_text(text, encoding="utf-8", newline="")
        t = Transport("https://h/r.git", RemoteAccess(password_file=token_file))
        assert t.credentials()["CONFIG_SERVER_GIT_PASSWORD"] == "tok-1"
