"""``token_file=``: a bearer token read from a file and read again when the file changes.

Rotation is done the way the kubelet does it for projected service-account tokens: a new
timestamped directory, then an atomic swap of the ``..data`` symlink that ``token`` points through.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from config_client import AsyncConfigClient, AuthenticationFailed, ConfigClient, TokenFileError

from tests.client.spring_server import SpringServer


class Allowed:
    """An ``authorize`` hook accepting the bearer tokens in ``tokens``; records every token seen."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = set(tokens)
        self.seen: list[str] = []

    def __call__(self, request: web.Request) -> int | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.seen.append(token)
        return None if token in self.tokens else 401


@pytest.fixture
def allowed() -> Allowed:
    return Allowed("token-one", "token-two")


@pytest.fixture
def protected(allowed: Allowed) -> Iterator[SpringServer]:
    server = SpringServer(authorize=allowed).start()
    server.put("orders", "prod", [("orders-prod.yml", {"db.url": "jdbc:prod"})])
    yield server
    server.close()


class ProjectedVolume:
    """A directory laid out like a Kubernetes projected volume: token -> ..data/token -> ..<n>/token."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation = 0
        root.mkdir()
        (root / "token").symlink_to("..data/token")

    @property
    def token_path(self) -> Path:
        return self.root / "token"

    def publish(self, content: str) -> None:
        """Write a new generation and swap ``..data`` to it atomically (rename over the link)."""
        self.generation += 1
        directory = self.root / f"..2026_{self.generation:04d}"
        directory.mkdir()
        (directory / "token").write_text(content)
        (self.root / "..data_tmp").symlink_to(directory.name)
        os.replace(self.root / "..data_tmp", self.root / "..data")


@contextlib.asynccontextmanager
async def client(server: SpringServer, token_file: Path) -> AsyncIterator[AsyncConfigClient]:
    """A client of ``server`` reading its token from ``token_file``, closed on exit (not started)."""
    config = AsyncConfigClient(
        server.url,
        application="orders",
        profiles="prod",
        token_file=token_file,
        fail_fast=True,
        retry_max_attempts=1,
    )
    try:
        yield config
    finally:
        await config.aclose()


async def test_the_file_token_is_sent_stripped(
    protected: SpringServer, allowed: Allowed, tmp_path: Path
) -> None:
    """The file's content, without its trailing newline, is sent as Authorization: Bearer."""
    path = tmp_path / "token"
    path.write_text("  token-one\n")
    async with client(protected, path) as config:
        assert (await config.load())["db.url"] == "jdbc:prod"
    assert allowed.seen == ["token-one"]


async def test_a_symlink_swap_rotation_is_picked_up_by_the_next_request(
    protected: SpringServer, allowed: Allowed, tmp_path: Path
) -> None:
    """After the kubelet-style ..data swap, the next request carries the new token."""
    volume = ProjectedVolume(tmp_path / "serviceaccount")
    volume.publish("token-one\n")
    async with client(protected, volume.token_path) as config:
        await config.load()
        volume.publish("token-two\n")
        await config.load()
    assert allowed.seen == ["token-one", "token-two"]


async def test_a_file_rewritten_in_place_is_read_again(
    protected: SpringServer, allowed: Allowed, tmp_path: Path
) -> None:
    """A plain rewrite of the same file (new size and mtime) is noticed too."""
    path = tmp_path / "token"
    path.write_text("token-one")
    async with client(protected, path) as config:
        await config.load()
        path.write_text("token-two\n")
        await config.load()
    assert allowed.seen == ["token-one", "token-two"]


async def test_a_refused_token_that_the_file_still_holds_is_not_retried(
    protected: SpringServer, allowed: Allowed, tmp_path: Path
) -> None:
    """A 401 re-reads the file; the same token again means AuthenticationFailed after one request."""
    path = tmp_path / "token"
    path.write_text("token-revoked\n")
    async with client(protected, path) as config:
        with pytest.raises(AuthenticationFailed):
            await config.load()
    assert allowed.seen == ["token-revoked"]


async def test_a_missing_token_file_is_a_token_file_error_naming_it(
    protected: SpringServer, tmp_path: Path
) -> None:
    """load() raises TokenFileError with the path and the reason; no request is sent."""
    path = tmp_path / "absent"
    async with client(protected, path) as config:
        with pytest.raises(TokenFileError, match=f"{path}: No such file") as caught:
            await config.load()
    assert caught.value.path == str(path)
    assert protected.seen == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [("\n  \n", "empty"), ("token-one\nsecond-line\n", "whitespace"), (b"\xff\xfe", "UTF-8")],
)
async def test_an_unusable_token_file_is_a_token_file_error(
    protected: SpringServer, tmp_path: Path, content: str | bytes, problem: str
) -> None:
    """Empty, multi-line or non-UTF-8 files are refused, and the message shows no content."""
    path = tmp_path / "token"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    async with client(protected, path) as config:
        with pytest.raises(TokenFileError, match=problem) as caught:
            await config.load()
    assert "token-one" not in str(caught.value) and "second-line" not in str(caught.value)


def test_the_sync_client_reads_the_token_file_too(
    protected: SpringServer, allowed: Allowed, tmp_path: Path
) -> None:
    """ConfigClient passes token_file through."""
    path = tmp_path / "token"
    path.write_text("token-two\n")
    config = ConfigClient(
        protected.url, application="orders", profiles="prod", token_file=path, fail_fast=True
    )
    try:
        assert config.load()["db.url"] == "jdbc:prod"
    finally:
        config.close()
    assert allowed.seen == ["token-two"]
