"""``--peers``: a webhook accepted by one replica makes every replica fetch at once.

The remote is served by ``git daemon``, so no replica sees a push on disk, and background fetches
are an hour apart: only the webhook, and its forwarding, can bring a change in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from config_server.cluster.peers import PeerSpec, parse_peer, parse_peers
from config_server.cluster.signing import PEER_SIGNATURE_HEADER, sign
from config_server.components import REPOSITORIES
from config_server.secret import Secret
from config_server.settings import SettingsError, load_settings
from tests.e2e.live_support import LiveServer, free_port, local_settings, wait_until
from tests.support.gitdaemon import git_daemon
from tests.support.gitrepo import GitRemote

CLUSTER = "cluster-s3cret"


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("10.0.0.7:8888", PeerSpec("10.0.0.7", 8888)),
        ("config-0.example:8888", PeerSpec("config-0.example", 8888)),
        ("[::1]:9000", PeerSpec("::1", 9000)),
        ("dns:config-server-peers:8888", PeerSpec("config-server-peers", 8888, dns=True)),
    ],
)
def test_a_peer_is_host_port_or_a_dns_name(text: str, spec: PeerSpec) -> None:
    """HOST:PORT, [V6]:PORT and dns:NAME:PORT parse, and print back as given."""
    assert parse_peer(text) == spec
    assert str(spec) == text


@pytest.mark.parametrize("text", ["host", "host:0", "host:http", ":8888", "::1:8888", "user@host:1", "dns:x"])
def test_a_malformed_peer_is_refused(text: str) -> None:
    """A peer without a port, with a bad port or a bare IPv6 address is a ValueError."""
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_peers(f"a:1,{text}")


def test_peers_without_a_cluster_secret_are_refused_at_start() -> None:
    """--peers without --cluster-secret is a settings error naming both."""
    with pytest.raises(SettingsError, match="--peers needs --cluster-secret"):
        load_settings({"repo": "/r", "peers": "127.0.0.1:9"}, environ={})


def test_the_cluster_secret_can_come_from_a_file(tmp_path: Path) -> None:
    """CONFIG_SERVER_CLUSTER_SECRET_FILE (a mounted Secret) is read, and peers come from the environment."""
    (tmp_path / "secret").write_text(CLUSTER + "\n")
    env = {
        "CONFIG_SERVER_PEERS": "dns:config-server-peers:8888",
        "CONFIG_SERVER_CLUSTER_SECRET_FILE": str(tmp_path / "secret"),
    }
    settings = load_settings({"repo": "/r"}, environ=env)
    assert settings.peers == (PeerSpec("config-server-peers", 8888, dns=True),)
    assert settings.cluster_secret == Secret(CLUSTER)
    assert CLUSTER not in repr(settings)


@pytest.fixture
def daemon_uri(git_remote: GitRemote) -> Iterator[str]:
    git_remote.write({"orders.yml": "greeting: one\n"})
    with git_daemon(git_remote) as uri:
        yield uri


def _replica(uri: str, tmp_path: Path, name: str, *, peers: str = "", port: int | None = None) -> LiveServer:
    settings = local_settings(uri, tmp_path / name, peers=parse_peers(peers), cluster_secret=Secret(CLUSTER))
    server = LiveServer(settings)
    if port is not None:  # a port its peers already name
        server.port = port
        server.settings = replace(server.settings, port=port)
    return server


async def _greeting(session: aiohttp.ClientSession, server: LiveServer) -> object:
    async with session.get(f"{server.url}/orders/default") as response:
        body = await response.json()
    return body["propertySources"][0]["source"]["greeting"]


async def test_a_webhook_on_one_replica_is_fetched_by_every_peer(
    git_remote: GitRemote, daemon_uri: str, tmp_path: Path
) -> None:
    """A push announced to replica A is served by A and its peers B and C within a second."""
    ports = [free_port() for _ in range(3)]
    replicas = [
        _replica(
            daemon_uri,
            tmp_path,
            f"r{i}",
            peers=",".join(f"127.0.0.1:{p}" for j, p in enumerate(ports) if j != i),
            port=ports[i],
        )
        for i in range(3)
    ]
    for replica in replicas:
        await replica.start()
    try:
        async with aiohttp.ClientSession() as session:
            assert [await _greeting(session, r) for r in replicas] == ["one"] * 3
            git_remote.write({"orders.yml": "greeting: two\n"})
            start = time.monotonic()
            async with session.post(f"{replicas[0].url}/monitor", data={"path": "orders.yml"}) as response:
                assert response.status == 200
            for peer in replicas[1:]:  # a forwarded call is answered once its fetch is done
                await wait_until(lambda r=peer: r.answers("/monitor", 200), 1.0)
            seen = [await _greeting(session, r) for r in replicas]
            assert seen == ["two"] * 3, seen
            assert time.monotonic() - start < 1.0
            # B and C fetched because A told them, and did not tell anyone again.
            assert len(replicas[0].answers("/monitor")) == 1
            assert [len(r.answers("/monitor")) for r in replicas[1:]] == [1, 1]
    finally:
        for replica in replicas:
            await replica.stop()


async def test_a_peer_that_is_down_is_skipped_and_logged_once(
    git_remote: GitRemote, daemon_uri: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With one peer down, the webhook is answered at once, the live peer fetches, one warning."""
    dead = free_port()
    live_port = free_port()
    a = _replica(daemon_uri, tmp_path, "a", peers=f"127.0.0.1:{dead},127.0.0.1:{live_port}")
    b = _replica(daemon_uri, tmp_path, "b", port=live_port)
    await a.start()
    await b.start()
    try:
        async with aiohttp.ClientSession() as session:
            with caplog.at_level(logging.WARNING, logger="config_server.cluster.peers"):
                for count, n in enumerate(("two", "three"), start=1):
                    git_remote.write({"orders.yml": f"greeting: {n}\n"})
                    async with session.post(f"{a.url}/monitor", data={"path": "orders.yml"}) as response:
                        assert response.status == 200
                    await wait_until(lambda c=count: len(b.answers("/monitor", 200)) == c, 2.0)
                    assert await _greeting(session, b) == n
            skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
            assert len(skipped) == 1 and str(dead) in skipped[0].getMessage()
    finally:
        await a.stop()
        await b.stop()


async def test_a_forwarded_call_is_checked_against_the_cluster_secret(
    daemon_uri: str, tmp_path: Path
) -> None:
    """A forwarded webhook signed with another secret, or replayed, is refused 401 and fetches nothing."""
    a = _replica(daemon_uri, tmp_path, "a")
    await a.start()
    try:
        body = b'{"repositories": [], "origin": "elsewhere"}'
        async with aiohttp.ClientSession() as session:
            for secret, expected in (("wrong", 401), (CLUSTER, 200)):
                header = sign(secret, body)
                async with session.post(
                    f"{a.url}/monitor", data=body, headers={PEER_SIGNATURE_HEADER: header}
                ) as response:
                    assert response.status == expected
            async with session.post(
                f"{a.url}/monitor", data=body, headers={PEER_SIGNATURE_HEADER: header}
            ) as response:
                assert response.status == 401  # the good one, replayed
    finally:
        await a.stop()


async def test_a_replica_ignores_its_own_call_through_a_dns_name(daemon_uri: str, tmp_path: Path) -> None:
    """dns:localhost:PORT includes this replica: its own call comes back once, and goes no further."""
    port = free_port()
    a = _replica(daemon_uri, tmp_path, "a", peers=f"dns:localhost:{port}", port=port)
    await a.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{a.url}/monitor", data={"path": "orders.yml"}) as response:
                assert response.status == 200
            await wait_until(lambda: len(a.answers("/monitor", 200)) == 2, 2.0)
            await asyncio.sleep(0.3)
            assert len(a.answers("/monitor")) == 2  # not forwarded again
    finally:
        await a.stop()


async def test_a_long_poll_during_a_webhook_fetch_is_answered_after_it(
    git_remote: GitRemote, daemon_uri: str, tmp_path: Path
) -> None:
    """A re-poll whose ETag this replica does not hold waits for the fetch in progress, so a
    watcher woken by a faster peer is never handed the configuration it just left."""
    a = _replica(daemon_uri, tmp_path, "a")
    await a.start()
    try:
        git_remote.write({"orders.yml": "greeting: two\n"})
        repositories = a.app[REPOSITORIES]
        fetch = asyncio.create_task(repositories.refresh())
        async with aiohttp.ClientSession() as session:
            headers = {"If-None-Match": '"from-a-faster-peer"', "Prefer": "wait=5"}
            async with session.get(f"{a.url}/orders/default", headers=headers) as response:
                assert fetch.done()
                body = await response.json()
        assert body["propertySources"][0]["source"]["greeting"] == "two"
    finally:
        await a.stop()


async def test_a_forwarded_webhook_reaches_the_receivers_sibling_workers(
    git_remote: GitRemote, daemon_uri: str, tmp_path: Path
) -> None:
    """--peers with --workers: a replica's worker told by a peer tells its own siblings (once),
    so every worker of every replica fetches; a sibling tells no one."""
    b_port, sibling_port = free_port(), free_port()
    a = _replica(daemon_uri, tmp_path, "a", peers=f"127.0.0.1:{b_port}")
    b = _replica(daemon_uri, tmp_path, "b", port=b_port)
    b.settings = replace(b.settings, peers=(PeerSpec("127.0.0.1", sibling_port, plain=True),))
    sibling = _replica(daemon_uri, tmp_path, "sibling", port=sibling_port)
    sibling.settings = replace(sibling.settings, peers=(PeerSpec("127.0.0.1", b_port, plain=True),))
    for replica in (a, b, sibling):
        await replica.start()
    try:
        async with aiohttp.ClientSession() as session:
            git_remote.write({"orders.yml": "greeting: two\n"})
            async with session.post(f"{a.url}/monitor", data={"path": "orders.yml"}) as response:
                assert response.status == 200
            await wait_until(lambda: len(sibling.answers("/monitor", 200)) == 1, 2.0)
            assert await _greeting(session, sibling) == "two"
            await asyncio.sleep(0.3)
            assert [len(r.answers("/monitor")) for r in (a, b, sibling)] == [1, 1, 1]
    finally:
        for replica in (a, b, sibling):
            await replica.stop()
