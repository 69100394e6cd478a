"""The peer signature opens ``POST /monitor`` to a replica and nothing else: every other endpoint
still asks the gate, however validly the request is signed."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_server.cluster.signing import PEER_SIGNATURE_HEADER, sign
from config_server.secret import Secret
from tests.http.conftest import Serve, serve
from tests.http.test_authorization import users_file
from tests.support.gitrepo import GitRemote

CLUSTER = "cluster-s3cret"
__all__ = ["serve"]  # the fixture, from tests.http


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/orders/default"),
        ("GET", "/orders-default.yml"),
        ("POST", "/encrypt"),
        ("GET", "/actuator/clients"),
        ("GET", "/actuator/prometheus"),
        ("POST", "/decrypt"),
    ],
)
async def test_a_peer_signature_does_not_open_other_endpoints(
    git_remote: GitRemote, serve: Serve, tmp_path: Path, method: str, path: str
) -> None:
    """A request validly signed with --cluster-secret, but not a POST /monitor, is still 401."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", {"orders": "orders-pw"}),
        cluster_secret=Secret(CLUSTER),
        encrypt_key=Secret("k" * 32),
    )
    body = b"plain" if method == "POST" else b""
    headers = {PEER_SIGNATURE_HEADER: sign(CLUSTER, body)}
    resp = await client.request(method, path, data=body or None, headers=headers)
    assert resp.status == 401, (resp.status, await resp.text())
    assert "a: 1" not in await resp.text()


async def test_a_signed_forward_is_the_only_credential_free_monitor_call(
    git_remote: GitRemote, serve: Serve, tmp_path: Path
) -> None:
    """With authentication on, a peer-signed POST /monitor fetches; the same body unsigned, or
    signed with another secret, is refused 401."""
    git_remote.write({"orders.yml": "a: 1\n"})
    client = await serve(
        git_remote,
        auth_users=users_file(tmp_path / "users", {"orders": "orders-pw"}),
        cluster_secret=Secret(CLUSTER),
    )
    body = b'{"repositories": [], "origin": "elsewhere"}'
    json_ = {"Content-Type": "application/json"}
    assert (await client.post("/monitor", data=body, headers=json_)).status == 401
    forged = {**json_, PEER_SIGNATURE_HEADER: sign("guess", body)}
    assert (await client.post("/monitor", data=body, headers=forged)).status == 401
    signed = {**json_, PEER_SIGNATURE_HEADER: sign(CLUSTER, body)}
    assert (await client.post("/monitor", data=body, headers=signed)).status == 200
