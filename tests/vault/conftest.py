"""Vault fixtures: one shared OpenBao dev server per session, a fresh KV mount per test.

Tests that seal or stop a server must start their own ``OpenBao`` (see ``test_outage.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings
from tests.support.openbao import OpenBao


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    """The session's shared OpenBao dev server (root token ``root``, KV v2 at ``secret/``)."""
    with OpenBao() as bao:
        yield bao


def unique(prefix: str) -> str:
    """A name no other test uses (mounts, policies, roles)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=[2, 1], ids=["kv2", "kv1"])
def kv_version(request: pytest.FixtureRequest) -> int:
    """Run the test against both KV engine versions."""
    return int(request.param)


@pytest.fixture
def mount(openbao: OpenBao) -> str:
    """A fresh KV v2 mount for this test alone."""
    path = unique("kv2")
    openbao.mount_kv(path, version=2)
    return path


@pytest.fixture
def root_settings(openbao: OpenBao, mount: str) -> VaultSettings:
    """Settings that read the test's KV v2 mount with the root token as the server identity."""
    return VaultSettings(url=openbao.url, kv_mount=mount, token=Secret(openbao.root_token))


@pytest.fixture
async def root_manager(root_settings: VaultSettings) -> AsyncIterator[VaultClientManager]:
    """A started manager logged in with the root token."""
    manager = VaultClientManager(root_settings)
    await manager.start()
    yield manager
    await manager.close()
