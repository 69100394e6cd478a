"""Git over a real sshd: deploy keys (OpenSSH, PEM, with a passphrase) and host-key checking."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from config_server.errors import InvalidConfiguration, Unavailable
from config_server.secret import Secret
from config_server.sources.git.remote import RemoteAccess
from tests.sources.conftest import MakeSource, OpenRepo
from tests.support.gitrepo import GitRemote
from tests.support.sshd import PASSPHRASE, Sshd


def keyed(sshd: Sshd, key: Path | None = None, **kwargs: Any) -> RemoteAccess:
    """Access with ``key`` (default: the authorized one), trusting the server's real host key."""
    kwargs.setdefault("timeout", 5.0)
    return RemoteAccess(ssh_key=key or sshd.key, known_hosts=sshd.known_hosts, **kwargs)


def test_the_right_key_clones_and_a_later_push_is_served(
    open_repo: OpenRepo, sshd: Sshd, served: GitRemote
) -> None:
    """With the authorized key and known host key the remote is cloned, and a later push fetched."""
    repo = open_repo(sshd.uri(served.bare), access=keyed(sshd))
    assert repo.lookup("main") == served.head()
    pushed = served.write({"s.yml": "s: 1\n"})
    assert repo.fetch()["refs/heads/main"][1] == pushed
    assert repo.status.last_error is None


def test_an_scp_like_uri_clones_and_fetches(open_repo: OpenRepo, sshd22: Sshd, served: GitRemote) -> None:
    """``root@127.0.0.x:/abs/path.git`` (scp-like, port 22) is cloned over ssh, and a push fetched."""
    uri = sshd22.scp_uri(served.bare)
    assert uri.startswith(f"root@{sshd22.address}:/")
    repo = open_repo(uri, access=keyed(sshd22))
    assert repo.lookup("main") == served.head()
    pushed = served.write({"scp.yml": "scp: 1\n"})
    assert repo.fetch()["refs/heads/main"][1] == pushed
    assert repo.status.last_error is None


def test_an_scp_like_uri_with_a_changed_host_key_is_refused(
    open_repo: OpenRepo, sshd22: Sshd, served: GitRemote
) -> None:
    """scp-like, with another key recorded for the host (no port: a plain known_hosts name): refused."""
    assert sshd22.other_known_hosts.read_text().startswith(f"{sshd22.address} ")
    access = RemoteAccess(ssh_key=sshd22.key, known_hosts=sshd22.other_known_hosts, timeout=5)
    with pytest.raises(Unavailable, match="host key changed"):
        open_repo(sshd22.scp_uri(served.bare), access=access)


def test_a_wrong_key_says_authentication_failed(open_repo: OpenRepo, sshd: Sshd, served: GitRemote) -> None:
    """A key the server does not authorize fails the clone with "authentication failed"."""
    with pytest.raises(Unavailable) as caught:
        open_repo(sshd.uri(served.bare), access=keyed(sshd, sshd.wrong_key))
    assert caught.value.message.startswith("Cannot clone ssh://127.0.0.1:")
    assert "authentication failed: root@127.0.0.1: Permission denied (publickey)" in caught.value.message


def test_an_unknown_host_key_is_refused(
    open_repo: OpenRepo, sshd: Sshd, served: GitRemote, tmp_path: Path
) -> None:
    """With strict checking (the default) a host missing from known_hosts is "host key unknown"."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    access = RemoteAccess(ssh_key=sshd.key, known_hosts=empty, timeout=5)
    with pytest.raises(Unavailable, match=r"host key unknown \(not in known_hosts"):
        open_repo(sshd.uri(served.bare), access=access)
    assert empty.read_text() == ""  # and nothing was added to it


def test_a_changed_host_key_is_refused(open_repo: OpenRepo, sshd: Sshd, served: GitRemote) -> None:
    """A host whose key differs from the one in known_hosts is "host key changed"."""
    access = RemoteAccess(ssh_key=sshd.key, known_hosts=sshd.other_known_hosts, timeout=5)
    with pytest.raises(Unavailable, match="host key changed"):
        open_repo(sshd.uri(served.bare), access=access)


def test_without_strict_checking_an_unknown_host_is_accepted(
    open_repo: OpenRepo, sshd: Sshd, served: GitRemote, tmp_path: Path
) -> None:
    """strict_host_key_checking=False (an explicit choice) connects to a host it does not know."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    access = RemoteAccess(ssh_key=sshd.key, known_hosts=empty, strict_host_key_checking=False, timeout=5)
    assert open_repo(sshd.uri(served.bare), access=access).lookup("main") == served.head()


def test_a_key_with_a_passphrase_works_given_the_passphrase(
    open_repo: OpenRepo, sshd: Sshd, served: GitRemote
) -> None:
    """A passphrase-protected key is unlocked with ssh_passphrase (through SSH_ASKPASS)."""
    access = keyed(sshd, sshd.passphrase_key, ssh_passphrase=Secret(PASSPHRASE))
    assert open_repo(sshd.uri(served.bare), access=access).lookup("main") == served.head()


def test_a_key_with_a_passphrase_fails_without_it(open_repo: OpenRepo, sshd: Sshd, served: GitRemote) -> None:
    """Without the passphrase the protected key cannot be used: "authentication failed", no prompt."""
    with pytest.raises(Unavailable, match="authentication failed"):
        open_repo(sshd.uri(served.bare), access=keyed(sshd, sshd.passphrase_key))


def test_a_wrong_passphrase_fails_without_leaking_it(
    open_repo: OpenRepo, sshd: Sshd, served: GitRemote
) -> None:
    """A wrong passphrase fails the clone; the message never holds the passphrase."""
    with pytest.raises(Unavailable) as caught:
        open_repo(
            sshd.uri(served.bare), access=keyed(sshd, sshd.passphrase_key, ssh_passphrase=Secret("nope-nope"))
        )
    assert "authentication failed" in caught.value.message and "nope-nope" not in caught.value.message


def test_a_pem_key_works(open_repo: OpenRepo, sshd: Sshd, served: GitRemote) -> None:
    """An RSA key in the old PEM format is accepted as well as an OpenSSH one."""
    assert open_repo(sshd.uri(served.bare), access=keyed(sshd, sshd.pem_key)).lookup("main") == served.head()


def test_an_unknown_path_says_repository_not_found(open_repo: OpenRepo, sshd: Sshd, tmp_path: Path) -> None:
    """A path with no repository behind it is "repository not found"."""
    with pytest.raises(Unavailable, match="repository not found"):
        open_repo(sshd.uri(tmp_path / "nothing.git"), access=keyed(sshd))


def test_a_closed_port_says_cannot_connect(open_repo: OpenRepo, sshd: Sshd, served: GitRemote) -> None:
    """Nothing listening on the port is "cannot connect"."""
    with pytest.raises(Unavailable, match="cannot connect"):
        open_repo(f"ssh://root@127.0.0.1:1{served.bare}", access=keyed(sshd))


def test_a_missing_key_file_is_a_configuration_error(open_repo: OpenRepo, sshd: Sshd, tmp_path: Path) -> None:
    """A key file that does not exist fails open() with InvalidConfiguration naming it."""
    with pytest.raises(InvalidConfiguration, match=r"no-such-key.*cannot read the git SSH key"):
        open_repo(sshd.uri(tmp_path), access=keyed(sshd, tmp_path / "no-such-key"))


async def test_a_hung_ssh_remote_times_out_while_reads_go_on(
    make_source: MakeSource, sshd: Sshd, served: GitRemote
) -> None:
    """An sshd that accepts but never answers ends the fetch with "timed out after 3s", in about
    three seconds, while reads keep being answered at once."""
    for attempt in range(3):  # the first clone must also finish within 3 s: a loaded machine may not
        try:
            source = await make_source(sshd.uri(served.bare), access=keyed(sshd, timeout=3.0))
            break
        except Unavailable:
            if attempt == 2:
                raise
    sshd.process.send_signal(signal.SIGSTOP)  # the kernel still accepts; nobody answers
    try:
        started = time.monotonic()
        fetch = asyncio.create_task(source.refresh())
        await asyncio.sleep(0.1)
        commit = await source.resolve("main")
        assert (await source.tree(commit)).files and not fetch.done()
        assert time.monotonic() - started < 2.0  # well inside the fetch's 3 s
        assert await fetch == {}
        took = time.monotonic() - started
    finally:
        sshd.process.send_signal(signal.SIGCONT)
    assert 2.9 < took < 8.0, took
    assert "timed out after 3s" in (source.status.last_error or "")
