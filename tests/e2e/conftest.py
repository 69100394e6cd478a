"""End-to-end secrets fixtures: the real server on loopback, real git, one shared OpenBao.

The shared OpenBao (``bao``) has a transit engine with key ``cfg``, an AppRole ``config-server``
for the server's own login, and a policy that limits the ``orders`` service to its own keys.
Every test gets a fresh KV mount (``mount``) so tests never see each other's secrets. Tests that
stop or seal Vault start their own OpenBao (see ``test_secrets_outage.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from config_client import set_testing

from config_server.secret import Secret
from tests.http.conftest import serve  # noqa: F401  (re-exported fixture)
from tests.support.openbao import OpenBao

TRANSIT_KEY = "cfg"


@pytest.fixture
def no_backoff_sleeps() -> Iterator[None]:
    """The client library's retries without their sleeps, for the tests that mark themselves
    ``usefixtures("no_backoff_sleeps")`` (the live tests)."""
    set_testing(True)
    yield
    set_testing(False)


@dataclass(frozen=True)
class AppRole:
    """The server's AppRole credentials."""

    role_id: str
    secret_id: str


def unique(prefix: str) -> str:
    """A name no other test uses (mounts, policies)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


SERVER_POLICY = """
path "+/*" { capabilities = ["read", "list"] }
path "transit/encrypt/*" { capabilities = ["update"] }
path "transit/decrypt/*" { capabilities = ["update"] }
"""


@pytest.fixture(scope="session")
def bao() -> Iterator[OpenBao]:
    """The e2e session's shared OpenBao dev server, with transit key ``cfg``."""
    with OpenBao() as server:
        server.enable_transit(TRANSIT_KEY)
        server.write_policy("config-server", SERVER_POLICY)
        yield server


@pytest.fixture(scope="session")
def approle(bao: OpenBao) -> AppRole:
    """AppRole credentials for the server (read every mount, use transit; short token TTL)."""
    role_id, secret_id = bao.create_approle("config-server", policies=["config-server"], token_ttl="1h")
    return AppRole(role_id, secret_id)


@pytest.fixture(params=[2, 1], ids=["kv2", "kv1"])
def kv_version(request: pytest.FixtureRequest) -> int:
    """Run the test against both KV engine versions."""
    return int(request.param)


@pytest.fixture
def mount(bao: OpenBao) -> str:
    """A fresh KV v2 mount for this test alone."""
    path = unique("kv2")
    bao.mount_kv(path, version=2)
    return path


def write(bao: OpenBao, mount: str, key: str, data: dict[str, object], *, version: int = 2) -> None:
    """Write a secret on a KV mount of either version."""
    if version == 2:
        bao.write_kv2(key, data, mount=mount)
    else:
        bao.write_kv1(key, data, mount=mount)


def root_token(bao: OpenBao) -> Secret:
    """The dev server's root token, as the server's own identity."""
    return Secret(bao.root_token)
