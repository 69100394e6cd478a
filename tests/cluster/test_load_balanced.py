"""Three replicas behind a real load balancer act as one (Debian ``haproxy`` on loopback).

Three real server processes share one remote served by ``git daemon`` (no replica can see a push
on disk, and background fetches are an hour apart: only the webhook and its forwarding between
``--peers`` explain a change arriving). 300 ``AsyncConfigClient`` watchers hold long polls through
haproxy. A webhook posted to haproxy lands on one replica, which forwards it to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from config_client import AsyncConfigClient, ChangeEvent

from tests.e2e.live_support import free_port, wait_until
from tests.support.gitdaemon import git_daemon
from tests.support.gitrepo import GitRemote
from tests.support.server_process import ServerProcess, server_process

HAPROXY = "/usr/sbin/haproxy"  # Debian's haproxy (.ci/run installs it)
WATCHERS = 300
LONG_POLL_WAIT = 20.0
# Seconds from the webhook to the last of the watchers seeing the push, as the issue asks: measured
# (printed below) 0.2-0.6 s on this 2-core machine with a busy loop on one core.
WEBHOOK_TO_ALL_BOUND = 1.0
CLUSTER_SECRET = "cluster-s3cret"


class Replica:
    """One server process on a fixed port; ``stop`` (SIGTERM, wait) and ``start`` may alternate."""

    def __init__(self, argv: list[str], port: int, secret_file: Path) -> None:
        self.port = port
        self.argv = [*argv, "--port", str(port), "--cluster-secret-file", str(secret_file)]
        self._cm: contextlib.AbstractContextManager[ServerProcess] | None = None
        self.outputs: list[str] = []
        self.process: ServerProcess | None = None

    def start(self) -> None:
        self._cm = server_process(self.argv)
        self.process = self._cm.__enter__()

    def stop(self) -> None:
        cm, self._cm = self._cm, None
        if cm is not None and self.process is not None:
            cm.__exit__(None, None, None)  # SIGTERM, wait for the exit
            self.outputs.append(self.process.output)
            self.process = None


def _haproxy_config(port: int, backends: list[int]) -> str:
    servers = "\n".join(
        f"    server r{n} 127.0.0.1:{p} check inter 200ms fall 2 rise 2" for n, p in enumerate(backends)
    )
    # timeout server is above the long poll's wait; retries + redispatch send a request whose
    # replica just closed its port to another one.
    return f"""global
    maxconn 4000

defaults
    mode http
    timeout connect 1s
    timeout client {int(LONG_POLL_WAIT) + 15}s
    timeout server {int(LONG_POLL_WAIT) + 10}s
    timeout http-keep-alive 30s
    retries 3
    option redispatch 1

frontend config
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /actuator/health/readiness
    http-check expect status 200
{servers}
"""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/actuator/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def remote(git_remote: GitRemote) -> Iterator[str]:
    git_remote.write({"orders.yml": "round: 0\n"})
    with git_daemon(git_remote) as uri:
        yield uri


@pytest.fixture
def replicas(remote: str, tmp_path: Path) -> Iterator[list[Replica]]:
    """Three server processes, each with the other two as --peers."""
    secret = tmp_path / "cluster-secret"
    secret.write_text(CLUSTER_SECRET + "\n")
    ports = [free_port() for _ in range(3)]
    group = []
    for n, port in enumerate(ports):
        peers = ",".join(f"127.0.0.1:{p}" for p in ports if p != port)
        argv = [
            "--repo",
            remote,
            "--basedir",
            str(tmp_path / f"clone-{n}"),
            "--refresh-rate",
            "3600",
            "--peers",
            peers,
            "--max-connections-per-address",
            "0",  # every client comes from haproxy's address
            "--max-watchers-per-principal",
            "0",
            "--shutdown-timeout",
            "4",
        ]
        group.append(Replica(argv, port, secret))
    try:
        for replica in group:
            replica.start()
        yield group
    finally:
        for replica in group:
            replica.stop()


@pytest.fixture
def balancer(replicas: list[Replica], tmp_path: Path) -> Iterator[str]:
    """haproxy in front of the three replicas; yields its URL once every replica is up in it."""
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(_haproxy_config(port, [r.port for r in replicas]))
    log = tmp_path / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while not _healthy(url):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "haproxy did not come up"
            time.sleep(0.05)
        time.sleep(0.5)  # every backend checked up (rise 2 x 200 ms)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=5)


class Fleet:
    """The watchers: each one's values seen through on_change, and every error they logged."""

    def __init__(self) -> None:
        self.values: list[list[object]] = [[] for _ in range(WATCHERS)]
        self.arrived: dict[object, list[float]] = {}

    def callback(self, n: int) -> Callable[[ChangeEvent], None]:
        def on_change(event: ChangeEvent) -> None:
            value = event.snapshot.get("round")
            self.values[n].append(value)
            self.arrived.setdefault(value, []).append(time.monotonic())

        return on_change

    def all_at(self, value: object) -> bool:
        return len(self.arrived.get(value, ())) >= WATCHERS


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def fleet(balancer: str) -> AsyncIterator[tuple[Fleet, list[AsyncConfigClient], _Errors]]:
    errors = _Errors()
    logger = logging.getLogger("config_client")
    logger.addHandler(errors)
    fleet = Fleet()
    clients: list[AsyncConfigClient] = []
    for _ in range(WATCHERS):  # each builds a TLS context: yield now and then, the loop stays live
        client = AsyncConfigClient(
            balancer, application="orders", long_poll_wait=LONG_POLL_WAIT, env_overrides=False
        )
        clients.append(client)
        if len(clients) % 25 == 0:
            await asyncio.sleep(0)
    try:
        await asyncio.gather(*(c.start() for c in clients))
        for n, client in enumerate(clients):
            assert client.get("round") == 0
            client.on_change(fleet.callback(n))
        await asyncio.sleep(0.5)  # every watcher holds its long poll
        yield fleet, clients, errors
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
        logger.removeHandler(errors)


async def _push(git_remote: GitRemote, balancer: str, value: int) -> float:
    await asyncio.to_thread(git_remote.write, {"orders.yml": f"round: {value}\n"})
    sent = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{balancer}/monitor", data={"path": "orders.yml"}) as response,
    ):
        assert response.status == 200
    return sent


async def test_replicas_behind_a_load_balancer_act_as_one(
    git_remote: GitRemote,
    replicas: list[Replica],
    balancer: str,
    fleet: tuple[Fleet, list[AsyncConfigClient], _Errors],
) -> None:
    """A webhook to haproxy reaches all 300 watchers in under 1 s; a rolling restart surfaces no
    error and no spurious change, and a push made during the roll still reaches everyone."""
    watchers, clients, errors = fleet

    sent = await _push(git_remote, balancer, 1)
    await wait_until(lambda: watchers.all_at(1), 10.0)
    slowest = max(watchers.arrived[1]) - sent
    print(f"webhook to the last of {len(watchers.arrived[1])} watchers: {slowest:.3f} s")
    assert slowest < WEBHOOK_TO_ALL_BOUND, f"the last watcher saw the push after {slowest:.2f} s"

    for n, replica in enumerate(replicas):
        await asyncio.to_thread(replica.stop)
        if n == 1:  # a push while one replica is down and another just came back
            await _push(git_remote, balancer, 2)
            await wait_until(lambda: watchers.all_at(2), 10.0)
        await asyncio.to_thread(replica.start)
        await asyncio.sleep(0.6)  # haproxy sees it up again (rise 2 x 200 ms)
    await asyncio.sleep(1.0)  # watchers re-polled through the roll's last step

    assert [r.getMessage() for r in errors.records] == []
    assert all(values == [1, 2] for values in watchers.values), {
        tuple(v) for v in watchers.values if v != [1, 2]
    }
    assert all(c.get("round") == 2 for c in clients)
    for replica in replicas:  # each stopped cleanly
        assert all("Traceback" not in out for out in replica.outputs)
