"""Request bodies are read whole, however they arrive, and refused (413) over their limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from config_server.http import monitor
from config_server.secret import Secret
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    """A chunked body whose parts arrive apart, as a slow client or a proxy sends them."""
    for index, part in enumerate(parts):
        if index:
            await asyncio.sleep(0.05)
        yield part


async def test_encrypt_reads_a_body_that_arrives_in_pieces(git_remote: GitRemote, serve: Serve) -> None:
    """/encrypt encrypts the whole body, not the part that had arrived when it started reading."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote, encrypt_key=Secret("k3y"))
    text = {"Content-Type": "text/plain"}
    cipher = await (await client.post("/encrypt", data=pieces(b"hello ", b"world"), headers=text)).text()
    resp = await client.post("/decrypt", data=cipher, headers=text)
    assert (resp.status, await resp.text()) == (200, "hello world")


async def test_monitor_reads_a_body_that_arrives_in_pieces(git_remote: GitRemote, serve: Serve) -> None:
    """A webhook's JSON split across packets is parsed whole (not refused as malformed)."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    json = {"Content-Type": "application/json"}
    resp = await client.post("/monitor", data=pieces(b'{"path": ', b'"a.yml"}'), headers=json)
    assert (resp.status, await resp.json()) == (200, ["a"])


async def test_monitor_refuses_a_chunked_body_over_its_limit(git_remote: GitRemote, serve: Serve) -> None:
    """A webhook body over 1 MiB without a Content-Length is a 413 too (not parsed from its start)."""
    git_remote.write({"a.yml": "a: 1\n"})
    client = await serve(git_remote)
    body = pieces(b'{"path": "a.yml"}', b" " * monitor.MAX_BODY)
    resp = await client.post("/monitor", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 413
