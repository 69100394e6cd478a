"""Smart-HTTPS git behind nginx with TLS (trustme) and Basic auth: tokens, CAs, rotation, secrecy."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from config_server.errors import Unavailable
from config_server.secret import Secret
from config_server.sources.git.remote import RemoteAccess
from config_server.sources.git.repository import GitRepository
from tests.sources.conftest import OpenRepo
from tests.sources.remotes.conftest import TOKEN, all_files_text
from tests.support.git_https import USER, GitHttps
from tests.support.gitrepo import GitRemote


def trusted(server: GitHttps, **kwargs: object) -> RemoteAccess:
    """Access that trusts the server's CA, as ``USER``, with a short timeout."""
    fields: dict[str, object] = {"username": USER, "ca_file": server.ca_file, "timeout": 5.0}
    fields.update(kwargs)
    return RemoteAccess(**fields)  # type: ignore[arg-type]


def test_the_right_token_clones_and_a_later_push_is_served(
    open_repo: OpenRepo, git_https: GitHttps, served: GitRemote
) -> None:
    """With the right user and token the remote is cloned, and a later push is fetched."""
    repo = open_repo(git_https.uri("remote.git"), access=trusted(git_https, password=Secret(TOKEN)))
    assert repo.lookup("main") == served.head()
    pushed = served.write({"b.yml": "b: 2\n"})
    assert repo.fetch()["refs/heads/main"][1] == pushed
    assert repo.status.last_error is None


def test_a_wrong_token_says_authentication_failed(open_repo: OpenRepo, git_https: GitHttps) -> None:
    """A wrong token fails the clone with "authentication failed", and the message holds no token."""
    with pytest.raises(Unavailable) as caught:
        open_repo(git_https.uri("remote.git"), access=trusted(git_https, password=Secret("wrong-token-123")))
    message = caught.value.message
    assert message.startswith("Cannot clone https://127.0.0.1:") and "authentication failed" in message
    assert "wrong-token-123" not in message


def test_no_credentials_also_says_authentication_failed(open_repo: OpenRepo, git_https: GitHttps) -> None:
    """A remote that asks for a login nobody configured fails at once with "authentication failed"."""
    with pytest.raises(Unavailable, match="authentication failed"):
        open_repo(git_https.uri("remote.git"), access=RemoteAccess(ca_file=git_https.ca_file, timeout=5))


def test_an_unknown_repository_says_not_found(open_repo: OpenRepo, git_https: GitHttps) -> None:
    """A path the server does not have fails with "repository not found"."""
    with pytest.raises(Unavailable, match="repository not found"):
        open_repo(git_https.uri("nope.git"), access=trusted(git_https, password=Secret(TOKEN)))


def test_an_untrusted_certificate_is_refused(open_repo: OpenRepo, git_https: GitHttps) -> None:
    """Without the company CA the server's certificate is refused: "certificate not trusted"."""
    with pytest.raises(Unavailable, match="certificate not trusted"):
        open_repo(git_https.uri("remote.git"), access=RemoteAccess(username=USER, password=Secret(TOKEN)))


def test_skipping_tls_validation_works_and_is_logged_loudly(
    open_repo: OpenRepo, git_https: GitHttps, served: GitRemote, caplog: pytest.LogCaptureFixture
) -> None:
    """skip_ssl_validation clones from an untrusted certificate and logs a warning saying so."""
    access = RemoteAccess(username=USER, password=Secret(TOKEN), skip_ssl_validation=True, timeout=5)
    with caplog.at_level(logging.WARNING):
        repo = open_repo(git_https.uri("remote.git"), access=access)
    assert repo.lookup("main") == served.head()
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"TLS verification is OFF for {repo.display_uri}" in r.getMessage() for r in warned)


def test_a_rotated_password_file_is_read_at_the_next_fetch(
    open_repo: OpenRepo, git_https: GitHttps, served: GitRemote, tmp_path: Path
) -> None:
    """After the token rotates (server and file), the next fetch uses the new one: no restart."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    repo = open_repo(git_https.uri("remote.git"), access=trusted(git_https, password_file=token_file))
    git_https.set_password("rotated-token-456")
    with pytest.raises(Unavailable, match="authentication failed"):
        repo.fetch()
    token_file.write_text("rotated-token-456\n")
    pushed = served.write({"c.yml": "c: 3\n"})
    repo.fetch()
    assert repo.lookup("main") == pushed and repo.status.last_error is None


def test_a_token_in_the_uri_works_and_rests_nowhere(
    open_repo: OpenRepo,
    git_https: GitHttps,
    served: GitRemote,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """https://user:token@host works; the token is in no file under basedir, no log, no name."""
    uri = git_https.uri("remote.git").replace("https://", f"https://{USER}:{TOKEN}@")
    with caplog.at_level(logging.DEBUG):
        repo = open_repo(uri, access=RemoteAccess(ca_file=git_https.ca_file, timeout=5))
        repo.fetch()
    assert repo.lookup("main") == served.head()
    assert TOKEN not in repo.display_uri and USER not in repo.display_uri
    assert TOKEN.encode() not in all_files_text(tmp_path / "clone")
    assert b"https://127.0.0.1" in (repo.gitdir / "config").read_bytes()  # the URL is there
    assert TOKEN not in caplog.text


def test_the_token_is_on_no_command_line_while_fetching(git_https: GitHttps, tmp_path: Path) -> None:
    """While git fetches (token in the URI), no process's /proc/<pid>/cmdline holds the token."""
    uri = git_https.uri("remote.git").replace("https://", f"https://{USER}:{TOKEN}@")
    repo = GitRepository(uri=uri, basedir=tmp_path / "clone", access=RemoteAccess(ca_file=git_https.ca_file))
    repo.open()
    seen: set[str] = set()
    leaked: list[str] = []
    done = threading.Event()

    def fetch_repeatedly() -> None:
        try:
            for _ in range(30):
                if "git-remote-https" in seen:  # caught one while it ran: enough
                    break
                repo.fetch()
        finally:
            done.set()

    worker = threading.Thread(target=fetch_repeatedly)
    worker.start()
    try:
        while not done.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "git" in cmdline:
                    seen.add(cmdline.split(" ", 1)[0].rsplit("/", 1)[-1])
                if TOKEN in cmdline:
                    leaked.append(cmdline)
    finally:
        worker.join()
        repo.close()
    assert not leaked
    assert "git-remote-https" in seen, seen  # the scan did catch the process that talks HTTPS


def test_health_last_error_names_the_failure_without_the_secret(
    open_repo: OpenRepo, git_https: GitHttps, tmp_path: Path
) -> None:
    """A failed background fetch leaves lastError "authentication failed ..." with no secret in it."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    uri = git_https.uri("remote.git").replace("https://", f"https://{USER}:{TOKEN}@")
    repo = open_repo(uri, access=RemoteAccess(password_file=token_file, ca_file=git_https.ca_file, timeout=5))
    token_file.write_text("next-token-789")
    with pytest.raises(Unavailable):
        repo.fetch()
    error = repo.status.last_error or ""
    assert "authentication failed" in error
    assert TOKEN not in error and "next-token-789" not in error


def test_a_missing_ca_file_is_a_configuration_error(tmp_path: Path, git_https: GitHttps) -> None:
    """A CA file that does not exist fails open() with InvalidConfiguration naming it."""
    from config_server.errors import InvalidConfiguration

    missing = tmp_path / "no-such-ca.pem"
    repo = GitRepository(
        uri=git_https.uri("remote.git"), basedir=tmp_path / "clone", access=RemoteAccess(ca_file=missing)
    )
    with pytest.raises(InvalidConfiguration) as caught:
        repo.open()
    assert str(missing) in caught.value.message and "CA file" in caught.value.message


def test_a_remote_that_never_answers_times_out(open_repo: OpenRepo) -> None:
    """A listener that accepts and never answers fails the clone with "timed out after 1s", soon."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts; nobody ever reads or writes
        uri = f"https://127.0.0.1:{listener.getsockname()[1]}/git/remote.git"
        started = time.monotonic()
        with pytest.raises(Unavailable, match=r"timed out after 1s"):
            open_repo(uri, access=RemoteAccess(username=USER, password=Secret(TOKEN), timeout=1.0))
        assert time.monotonic() - started < 3.0


def test_the_proxy_carries_the_connection_to_the_remote(open_repo: OpenRepo) -> None:
    """--git-proxy: git asks the proxy to CONNECT to the remote's host (a refusing proxy records it)."""
    seen: list[bytes] = []
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(8)

        def answer() -> None:
            conn, _ = proxy.accept()
            with conn:
                seen.append(conn.recv(4096).split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        access = RemoteAccess(proxy=f"http://127.0.0.1:{proxy.getsockname()[1]}", timeout=5.0)
        with pytest.raises(Unavailable):
            open_repo("https://git.example.invalid/platform/config.git", access=access)
        thread.join(5)
    assert seen == [b"CONNECT git.example.invalid:443 HTTP/1.1"]
