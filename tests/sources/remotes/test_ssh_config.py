"""``--git-use-ssh-config``: the account's own ``~/.ssh/config`` is read only when asked, live.

OpenSSH finds ``~/.ssh/config`` through the passwd entry of the account (``getpwuid``), not
``$HOME``, so a test cannot point it at a file of its own by setting ``HOME``, and must not write
to the real home directory. ``nss_wrapper`` (Debian ``libnss-wrapper``, made for such tests) gives
the git and ssh processes, through ``LD_PRELOAD``, a passwd file whose entry for this uid has its
home under ``tmp_path``: the real ssh then reads the test's config exactly as it reads a user's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from config_server.errors import Unavailable
from config_server.sources.git.remote import RemoteAccess
from tests.sources.conftest import OpenRepo
from tests.support.gitrepo import GitRemote
from tests.support.sshd import Sshd

NSS_WRAPPER = "/usr/lib/*/libnss_wrapper.so"
ALIAS = "config-alias.invalid"
"""A host name only the test's ssh config defines (``.invalid`` never resolves otherwise)."""


@dataclass(frozen=True)
class Home:
    """The account's home directory as ssh sees it, and its ``.ssh/config``."""

    path: Path
    config: Path


@pytest.fixture
def home(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A passwd home under ``tmp_path`` for this uid (for every child process), whose
    ``.ssh/config`` maps ``ALIAS`` to the sshd with its user, key and known_hosts."""
    found = sorted(Path("/").glob(NSS_WRAPPER.lstrip("/")))
    if not found:
        pytest.skip(f"{NSS_WRAPPER} missing: install Debian's libnss-wrapper (.ci/run does)")
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True, mode=0o700)
    config = path / ".ssh" / "config"
    config.write_text(
        f"Host {ALIAS}\n"
        "  HostName 127.0.0.1\n"
        f"  Port {sshd.port}\n"
        "  User root\n"
        f"  IdentityFile {sshd.key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {sshd.known_hosts}\n",
        encoding="utf-8",
    )
    config.chmod(0o600)  # ssh refuses a config others may write
    uid, gid = os.getuid(), os.getgid()
    passwd = tmp_path / "passwd"
    passwd.write_text(f"tester:x:{uid}:{gid}:tester:{path}:/bin/sh\n", encoding="utf-8")
    group = tmp_path / "group"
    group.write_text(f"tester:x:{gid}:\n", encoding="utf-8")
    # The server is started after this, so the preload reaches only git and ssh (sshd has its own env).
    monkeypatch.setenv("LD_PRELOAD", str(found[0]))
    monkeypatch.setenv("NSS_WRAPPER_PASSWD", str(passwd))
    monkeypatch.setenv("NSS_WRAPPER_GROUP", str(group))
    return Home(path, config)


def alias_uri(served: GitRemote) -> str:
    """scp-like, naming only the alias: host, port, user, key and known_hosts come from the config."""
    return f"{ALIAS}:{served.bare.resolve()}"


def test_with_use_ssh_config_the_accounts_config_is_read(
    open_repo: OpenRepo, home: Home, served: GitRemote
) -> None:
    """use_ssh_config: an alias from ~/.ssh/config (host, port, user, key, known_hosts) clones."""
    repo = open_repo(alias_uri(served), access=RemoteAccess(use_ssh_config=True, timeout=5))
    assert repo.lookup("main") == served.head()


def test_without_use_ssh_config_the_accounts_config_is_ignored(
    open_repo: OpenRepo, home: Home, served: GitRemote
) -> None:
    """By default the same alias is unknown: ssh read no config file, so it cannot connect."""
    with pytest.raises(Unavailable, match=f"cannot connect: .*{ALIAS}"):
        open_repo(alias_uri(served), access=RemoteAccess(timeout=5))


def test_the_accounts_config_cannot_weaken_host_key_checking(
    open_repo: OpenRepo, home: Home, served: GitRemote, tmp_path: Path
) -> None:
    """A config that turns strict checking off loses to the server's own options: still refused."""
    home.config.write_text(
        home.config.read_text(encoding="utf-8") + "  StrictHostKeyChecking no\n", encoding="utf-8"
    )
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    access = RemoteAccess(use_ssh_config=True, known_hosts=empty, timeout=5)
    with pytest.raises(Unavailable, match=r"host key unknown \(not in known_hosts"):
        open_repo(alias_uri(served), access=access)
