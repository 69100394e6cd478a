"""Real authenticated remotes on loopback, started once per module: sshd and smart-HTTPS git."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.git_https import GitHttps, start_git_https
from tests.support.gitrepo import GitRemote
from tests.support.sshd import Sshd, start_sshd

TOKEN = "tok-3f9a1c7e5b2d4f60"
"""The password the HTTPS server accepts at the start of each test."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> GitRemote:
    """A bare remote with one commit on ``main`` (``a.yml``), shared by a module's tests."""
    remote = GitRemote(tmp_path_factory.mktemp("served"))
    remote.write({"a.yml": "a: 1\n"})
    return remote


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real sshd on 127.0.0.1 with generated host and user keys."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


PORT_22_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(2, 10))
"""Loopback addresses tried for an sshd on port 22 (another run may hold one of them)."""


@pytest.fixture(scope="module")
def sshd22(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real sshd on port 22 of a spare loopback address (127.0.0.2 and on), for scp-like URIs,
    which cannot name a port. Skips when port 22 is taken on every one of them."""
    busy: list[str] = []
    for address in PORT_22_ADDRESSES:
        try:
            with socket.socket() as probe:
                probe.bind((address, 22))
        except OSError as exc:
            busy.append(f"{address}: {exc.strerror}")
            continue
        try:
            server = start_sshd(tmp_path_factory.mktemp("sshd22"), address=address, port=22)
        except RuntimeError as exc:  # taken between the probe and sshd's own bind
            busy.append(f"{address}: {str(exc)[-80:]}")
            continue
        yield server
        server.stop()
        return
    pytest.skip(f"cannot listen on port 22 of any spare loopback address ({'; '.join(busy)})")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory, served: GitRemote) -> Iterator[GitHttps]:
    """nginx + fcgiwrap + git http-backend over TLS (trustme CA) with Basic auth (``TOKEN``)."""
    server = start_git_https(tmp_path_factory.mktemp("https"), project_root=served.root, password=TOKEN)
    yield server
    server.stop()


@pytest.fixture
def git_https(https_server: GitHttps) -> Iterator[GitHttps]:
    """The module's HTTPS server, its password set back to ``TOKEN`` after the test."""
    yield https_server
    https_server.set_password(TOKEN)


def all_files_text(root: Path) -> bytes:
    """Every byte of every file under ``root`` (to show a secret is nowhere in it)."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())
