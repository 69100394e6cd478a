"""Third-party Spring Cloud Config clients, unchanged, against the server with Basic authentication.

- The npm package ``cloud-config-client`` (``tests/support/node/read_config.mjs``, credentials
  in its environment) in a real Node process.
- The PyPI package ``config-client`` (import name ``config``; requests underneath): Basic
  authentication goes as requests' ``auth=`` keyword through ``get_config(**kwargs)``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
import requests
from requests.auth import HTTPBasicAuth

from tests.e2e.security.conftest import POLICY, SECRETS, Server, htpasswd, running_server
from tests.support.gitrepo import GitRemote
from tests.support.node import NODE_DIR, node_env, require_node

PASSWORD = "orders-node-pw"


@pytest.fixture(scope="module")
def server(config_repo: GitRemote, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server with user orders (htpasswd -B) and the policy."""
    folder = tmp_path_factory.mktemp("third-party")
    htpasswd(folder / "users", "orders", PASSWORD, create=True)
    (folder / "policy.yml").write_text(POLICY)
    with running_server(
        config_repo, folder / "clone", auth_users=folder / "users", access_policy=folder / "policy.yml"
    ) as running:
        yield running


def node_read(server: Server, name: str) -> dict[str, object]:
    node = require_node("cloud-config-client")
    env = node_env(
        CONFIG_ENDPOINT=server.url,
        CONFIG_NAME=name,
        CONFIG_PROFILES="default",
        CONFIG_USER="orders",
        CONFIG_PASS=PASSWORD,
    )
    done = subprocess.run(
        [node, "read_config.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=30
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_node_client_reads_its_own_configuration(server: Server) -> None:
    """cloud-config-client with auth {user, pass} loads orders' properties."""
    result = node_read(server, "orders")
    properties = result["properties"]
    assert isinstance(properties, dict)
    assert properties["db.password"] == SECRETS["orders"] and properties["greeting"] == "hello"


def test_the_node_client_is_refused_another_services_configuration(server: Server) -> None:
    """cloud-config-client as orders asking for payments fails with the 403 (its only error detail)."""
    assert node_read(server, "payments") == {"error": "Invalid response: 403"}


def python_client(server: Server, name: str):  # type: ignore[no-untyped-def]
    config = pytest.importorskip("config", reason="pip install config-client (the PyPI one)")
    return config.ConfigClient(
        address=server.url, app_name=name, profile="default", label="main", fail_fast=False
    )


def test_the_pypi_client_reads_its_own_configuration(server: Server) -> None:
    """config-client's ConfigClient.get_config(auth=HTTPBasicAuth(user, password)) loads orders."""
    client = python_client(server, "orders")
    client.get_config(auth=HTTPBasicAuth("orders", PASSWORD), timeout=10)
    assert client.get("db.password") == SECRETS["orders"]


def test_the_pypi_client_is_refused_another_services_configuration(server: Server) -> None:
    """config-client asking for payments as orders raises; the cause is requests' HTTPError 403."""
    client = python_client(server, "payments")
    with pytest.raises(ConnectionError) as raised:
        client.get_config(auth=HTTPBasicAuth("orders", PASSWORD), timeout=10)
    cause = raised.value.__context__
    assert isinstance(cause, requests.HTTPError) and cause.response is not None
    assert cause.response.status_code == 403
    assert client.config == {}
