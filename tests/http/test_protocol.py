"""Connection-level limits (http.protocol): header-read timeout, per-address cap, JSON parser errors.

Every test talks to the real server (``HardenedAppRunner`` on 127.0.0.1, as ``cli.serve`` runs
it) over raw sockets, so that nothing between the test and the server fixes the bytes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config_server.http.protocol import address_key
from tests.http.conftest import Serve
from tests.support.gitrepo import GitRemote

TOKEN = "s3cr3t-token-123"
GET = b"GET /foo/default HTTP/1.1\r\nHost: localhost\r\n\r\n"
SLOW_HEAD = b"GET /foo/default HTTP/1.1\r\nHost: localhost\r\nX-Config-Token: " + TOKEN.encode() + b"\r\n\r\n"
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(client: TestClient[Any, Any], source: str = "127.0.0.1") -> Streams:
    """A raw connection to the server from ``source`` (any 127/8 address is loopback on Linux)."""
    return await asyncio.open_connection("127.0.0.1", client.server.port, local_addr=(source, 0))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
    return int(status_line.split()[1]), headers, body


async def read_to_end(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    """Everything until the server closes (a reset counts as a close)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except ConnectionResetError:
        return b""


async def drip(writer: asyncio.StreamWriter, data: bytes, interval: float) -> None:
    """Send ``data`` one byte every ``interval`` seconds until done or the server hangs up."""
    with contextlib.suppress(ConnectionError):
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


def error_of(raw: bytes) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a whole raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), raw[:300]
    return int(head.split()[1]), json.loads(body)


# -- the header-read timeout ---------------------------------------------------------------------


async def test_slow_heads_are_closed_while_others_are_served(git_remote: GitRemote, serve: Serve) -> None:
    """50 connections dripping a head byte every 0.2 s get 408 at the 1 s timeout; others are served."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, header_timeout=1)

    async def slow() -> tuple[float, bytes]:
        # Timed from before the connect: the server's clock starts at its accept, which a busy
        # client loop may only notice later (measured from after, 0.77 s was seen under load).
        start = time.monotonic()
        reader, writer = await connect(client)
        feeder = asyncio.create_task(drip(writer, SLOW_HEAD, 0.2))
        try:
            raw = await read_to_end(reader)
            return time.monotonic() - start, raw
        finally:
            feeder.cancel()
            close(writer)

    attack = asyncio.gather(*(slow() for _ in range(50)))
    served = 0
    while not attack.done():
        resp = await client.get("/foo/default")
        assert resp.status == 200
        served += 1
        await asyncio.sleep(0.1)
    results = await attack
    assert served >= 5
    assert max(took for took, _ in results) < 1.6, sorted(took for took, _ in results)[-3:]
    assert min(took for took, _ in results) > 0.9
    for _, raw in results:
        status, body = error_of(raw)
        assert status == 408 and body["status"] == 408 and set(body) == ERROR_KEYS


async def test_idle_keep_alive_outlives_the_header_timeout(git_remote: GitRemote, serve: Serve) -> None:
    """A keep-alive connection idle for longer than the header timeout still serves the next request."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, header_timeout=0.5)
    reader, writer = await connect(client)
    try:
        writer.write(GET)
        assert (await read_response(reader))[0] == 200
        await asyncio.sleep(1.2)
        writer.write(GET)
        assert (await read_response(reader))[0] == 200
    finally:
        close(writer)


async def test_second_request_head_must_arrive_in_time(git_remote: GitRemote, serve: Serve) -> None:
    """On a keep-alive connection the timeout runs from the next head's first byte: a slow one gets 408."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, header_timeout=1)
    reader, writer = await connect(client)
    try:
        writer.write(GET)
        assert (await read_response(reader))[0] == 200
        await asyncio.sleep(0.3)
        start = time.monotonic()
        feeder = asyncio.create_task(drip(writer, SLOW_HEAD, 0.2))
        raw = await read_to_end(reader)
        took = time.monotonic() - start
        feeder.cancel()
        assert 0.9 < took < 3.0  # the whole head would take over 10 s to drip
        assert error_of(raw)[0] == 408
    finally:
        close(writer)


async def test_silent_connection_is_closed_after_the_timeout(git_remote: GitRemote, serve: Serve) -> None:
    """A connection that sends nothing at all is closed at the header timeout, counted from the accept."""
    client = await serve(git_remote, header_timeout=0.5)
    reader, writer = await connect(client)
    start = time.monotonic()
    try:
        raw = await read_to_end(reader)
        assert 0.4 < time.monotonic() - start < 1.0
        assert error_of(raw)[0] == 408
    finally:
        close(writer)


async def test_long_poll_is_not_cut_by_the_header_timeout(git_remote: GitRemote, serve: Serve) -> None:
    """A long poll whose head arrived is held for its whole wait (3 s) under a 1 s header timeout."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, header_timeout=1)
    etag = (await client.get("/foo/default")).headers["ETag"]
    reader, writer = await connect(client)
    try:
        start = time.monotonic()
        writer.write(
            b"GET /foo/default HTTP/1.1\r\nHost: localhost\r\nPrefer: wait=3\r\n"
            b"If-None-Match: " + etag.encode() + b"\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 6)
        assert head.startswith(b"HTTP/1.1 304")
        assert time.monotonic() - start > 2.8
    finally:
        close(writer)


async def test_zero_header_timeout_is_off(git_remote: GitRemote, serve: Serve) -> None:
    """With header_timeout 0 a silent connection stays open."""
    client = await serve(git_remote, header_timeout=0)
    reader, writer = await connect(client)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(), 0.7)
    finally:
        close(writer)


# -- the per-address cap -------------------------------------------------------------------------


async def test_connection_over_the_cap_gets_429_and_others_are_unaffected(
    git_remote: GitRemote, serve: Serve
) -> None:
    """Cap 5: a 6th connection from 127.0.0.1 gets 429; 127.0.0.2 is served; a close frees a slot."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, max_connections_per_address=5)
    held = [await connect(client) for _ in range(5)]
    try:
        reader, writer = await connect(client)
        raw = await read_to_end(reader, 2)  # sent nothing: the answer comes unasked
        close(writer)
        status, body = error_of(raw)
        assert status == 429 and body["status"] == 429 and set(body) == ERROR_KEYS
        assert b"\r\nretry-after: 1\r\n" in raw.lower()

        other_reader, other_writer = await connect(client, "127.0.0.2")
        other_writer.write(GET)
        assert (await read_response(other_reader))[0] == 200
        close(other_writer)

        close(held.pop()[1])
        for _ in range(40):  # the server sees the close within a few loop turns
            reader, writer = await connect(client)
            writer.write(GET)
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                status, _, _ = await read_response(reader)
                if status == 200:
                    break
            close(writer)
            await asyncio.sleep(0.05)
        else:
            pytest.fail("a closed connection never freed its slot")
        close(writer)
    finally:
        for _, w in held:
            close(w)


# -- parser errors -------------------------------------------------------------------------------

_TOKEN_LINE = b"X-Config-Token: " + TOKEN.encode()
_BAD_REQUESTS = {
    "header too long": (
        b"GET /foo/default HTTP/1.1\r\nHost: x\r\n" + _TOKEN_LINE + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
    "control character": (b"GET /foo/default HTTP/1.1\r\nHost: x\r\n" + _TOKEN_LINE + b"\x01\r\n\r\n", 400),
    "bad header name": (
        b"GET /foo/default HTTP/1.1\r\nHost: x\r\nX Token: " + TOKEN.encode() + b"\r\n\r\n",
        400,
    ),
    "bad request line": (b"GET /" + TOKEN.encode() + b" HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    "bad method": (b"G\x01T /" + TOKEN.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "request line too long": (b"GET /" + TOKEN.encode() + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    "too many headers": (
        b"GET /foo/default HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: %s\r\n" % (i, TOKEN.encode()) for i in range(200))
        + b"\r\n",
        431,
    ),
}


@pytest.mark.parametrize("kind", list(_BAD_REQUESTS))
async def test_parser_errors_answer_the_json_body_without_request_bytes(
    kind: str, git_remote: GitRemote, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """A request the parser rejects gets the JSON error body; no byte of it is in the answer or the log."""
    caplog.set_level(logging.DEBUG)
    request, expected = _BAD_REQUESTS[kind]
    client = await serve(git_remote)
    reader, writer = await connect(client)
    try:
        writer.write(request)
        raw = await read_to_end(reader)
    finally:
        close(writer)
    status, body = error_of(raw)
    assert status == expected and body["status"] == expected, body
    assert set(body) == ERROR_KEYS and body["path"] == ""
    assert body["message"].startswith(("Bad Request", "Request header too large", "Too many request headers"))
    assert TOKEN not in raw.decode("latin-1")
    assert TOKEN not in caplog.text
    assert "rejected a request" in caplog.text


async def test_pipelined_partial_head_is_timed(git_remote: GitRemote, serve: Serve) -> None:
    """A read that completes one request and starts the next starts the next head's timer."""
    git_remote.write({"foo.yml": "a: 1\n"})
    client = await serve(git_remote, header_timeout=0.5)
    reader, writer = await connect(client)
    try:
        start = time.monotonic()
        writer.write(GET + b"G")
        assert (await read_response(reader))[0] == 200
        raw = await read_to_end(reader)
        assert 0.4 < time.monotonic() - start < 1.0
        assert error_of(raw)[0] == 408
    finally:
        close(writer)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        (("127.0.0.1", 5000), "127.0.0.1"),
        (("::ffff:10.0.0.7", 5000, 0, 0), "10.0.0.7"),
        (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("fe80::1%eth0", 5000, 0, 2), "fe80::/64"),
        ("/run/config-server.sock", None),
        (None, None),
    ],
)
def test_connections_are_counted_per_address_and_ipv6_per_64(peer: Any, key: str | None) -> None:
    """An IPv4 peer counts as its address, an IPv6 peer as its /64, a Unix socket not at all."""
    assert address_key(peer) == key
