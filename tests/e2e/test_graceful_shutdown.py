"""A stop (SIGTERM, a rollout) as a replica behind a load balancer needs it, with the real CLI process.

One scenario runs once: a server with an audit log holds a long poll and has a request in flight
(a POST /encrypt whose body is half sent); it gets SIGTERM; the tests read what happened: the
poll answered 304 at once, new connections refused, the request in flight finished (its body
sent after the signal), exit 0, and the audit log ending with that request and then ``stop``.
A second server shows a request that never finishes cut off within ``--shutdown-timeout``.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.gitrepo import GitRemote
from tests.support.server_process import server_process

AUDIT_KEY = "audit-key-2f8c-shutdown"
ENCRYPT_KEY = "encrypt-key-9a41-shutdown"
PLAINTEXT = b"plaintext-sent-after-sigterm"


@dataclass(frozen=True)
class Stopped:
    """What one SIGTERM did: seconds from the signal to each event, answers, exit, audit lines."""

    poll_status: int | None
    poll_answered_after: float
    refused_after_stop: bool
    in_flight_answer: bytes
    exit_code: int | None
    exited_after: float
    audit: list[dict[str, Any]]
    output: str


class HalfSentRequest:
    """A POST /encrypt over a raw socket whose body is sent in two parts: the server's handler
    is running (reading the body) between ``start`` and ``finish``."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self._sock = socket.create_connection((address.hostname, address.port), timeout=15)

    def start(self) -> None:
        head = (
            "POST /encrypt HTTP/1.1\r\nHost: config\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(PLAINTEXT)}\r\n\r\n"
        )
        self._sock.sendall(head.encode() + PLAINTEXT[:8])

    def finish(self) -> bytes:
        """Send the rest of the body; the whole answer, read until the server closes."""
        self._sock.sendall(PLAINTEXT[8:])
        return self.answer()

    def answer(self) -> bytes:
        """Whatever the server sends until it closes the connection."""
        chunks = []
        while chunk := self._sock.recv(65536):
            chunks.append(chunk)
        self._sock.close()
        return b"".join(chunks)


def _until_handling(url: str, *, long_polls: int, requests: int, within: float = 10.0) -> None:
    """Wait until the server holds ``long_polls`` long polls and handles ``requests`` requests
    besides the scrape asking (its /actuator/prometheus)."""
    wanted = (f"config_long_polls_open {long_polls:.1f}", f"http_server_active_requests {requests + 1:.1f}")
    deadline = time.monotonic() + within
    while True:
        with urllib.request.urlopen(f"{url}/actuator/prometheus", timeout=10) as answer:
            lines = answer.read().decode().splitlines()
        if all(line in lines for line in wanted):
            return
        assert time.monotonic() < deadline, [
            line for line in lines if line.startswith(("config_long", "http_server_a"))
        ]
        time.sleep(0.05)


def _argv(remote: GitRemote, tmp: Path, *more: str) -> list[str]:
    return ["--repo", remote.uri, "--basedir", str(tmp / "clone"), "--port", "0", *more]


def _long_poll(url: str, etag: str, into: list[tuple[int, float]]) -> None:
    request = urllib.request.Request(url, headers={"If-None-Match": etag, "Prefer": "wait=60"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            into.append((answer.status, time.monotonic()))
    except urllib.error.HTTPError as answer:  # 304 Not Modified
        into.append((answer.code, time.monotonic()))


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Stopped:
    tmp = tmp_path_factory.mktemp("shutdown")
    remote = GitRemote(tmp / "git")
    remote.write({"orders.yml": "a: 1\n"})
    audit = tmp / "audit.log"
    env = {"CONFIG_SERVER_AUDIT_KEY": AUDIT_KEY, "CONFIG_SERVER_ENCRYPT_KEY": ENCRYPT_KEY}
    argv = _argv(remote, tmp, "--audit-log", str(audit), "--shutdown-timeout", "10")
    with server_process(argv, env=env) as server:
        url = f"{server.url}/orders/default"
        with urllib.request.urlopen(url, timeout=10) as answer:
            etag = answer.headers["ETag"]
        polls: list[tuple[int, float]] = []
        poller = threading.Thread(target=_long_poll, args=(url, etag, polls))
        poller.start()
        in_flight = HalfSentRequest(server.url)
        in_flight.start()
        _until_handling(server.url, long_polls=1, requests=2)  # the poll, the half-sent body
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.wait_for("stopping")
        poller.join(5)
        try:
            socket.create_connection((urlsplit(server.url).hostname, urlsplit(server.url).port), 2).close()
            refused = False
        except ConnectionRefusedError:
            refused = True
        time.sleep(0.5)  # still in flight after the poll was answered
        answer = in_flight.finish()
        server.process.wait(15)
        exited = time.monotonic()
    status, answered = polls[0] if polls else (None, float("inf"))
    return Stopped(
        poll_status=status,
        poll_answered_after=answered - signalled,
        refused_after_stop=refused,
        in_flight_answer=answer,
        exit_code=server.process.returncode,
        exited_after=exited - signalled,
        audit=[json.loads(line) for line in audit.read_text().splitlines()],
        output=server.output,
    )


def test_a_held_long_poll_is_answered_304_at_once(stopped: Stopped) -> None:
    """SIGTERM answers a held long poll 304 within a second, while a request is still in flight."""
    assert stopped.poll_status == 304
    assert stopped.poll_answered_after < 1.0


def test_new_connections_are_refused_once_stopping(stopped: Stopped) -> None:
    """After SIGTERM the listening socket is closed: the load balancer tries another replica."""
    assert stopped.refused_after_stop


def test_a_request_in_flight_finishes(stopped: Stopped) -> None:
    """A request whose body arrives after SIGTERM is still answered 200 (and the connection closed)."""
    head, _, body = stopped.in_flight_answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), stopped.in_flight_answer[:200]
    assert body and PLAINTEXT not in body
    assert b"connection: close" in head.lower()


def test_the_server_exits_0_once_the_last_request_is_done(stopped: Stopped) -> None:
    """Exit status 0, soon after the last request finished, well within --shutdown-timeout."""
    assert stopped.exit_code == 0, stopped.output
    assert stopped.exited_after < 5.0
    assert "Traceback" not in stopped.output


def test_the_audit_log_ends_with_the_request_in_flight_then_stop(stopped: Stopped) -> None:
    """The audit log is flushed on the way out: the in-flight request's line, then ``stop`` last."""
    assert [line["event"] for line in stopped.audit[-2:]] == ["encrypt", "stop"]
    assert stopped.audit[-2]["status"] == 200


def test_a_request_that_never_finishes_is_cut_at_the_shutdown_timeout(
    git_remote: GitRemote, tmp_path: Path
) -> None:
    """A body that never comes: the handler is cancelled and the server exits 0 within --shutdown-timeout."""
    git_remote.write({"orders.yml": "a: 1\n"})
    env = {"CONFIG_SERVER_ENCRYPT_KEY": ENCRYPT_KEY}
    with server_process(_argv(git_remote, tmp_path, "--shutdown-timeout", "4"), env=env) as server:
        stalled = HalfSentRequest(server.url)
        stalled.start()
        _until_handling(server.url, long_polls=0, requests=1)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(10)
        elapsed = time.monotonic() - signalled
        stalled.answer()
    assert server.process.returncode == 0, server.output
    assert 1.9 < elapsed < 4.0, elapsed  # 2 s for the request, the rest to close and exit
