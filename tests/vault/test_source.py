"""VaultConfigSource (config_server/sources/vault.py): Vault KV behind the Source seam.

Here rather than in tests/sources/ to share this folder's OpenBao server and mounts.
"""

from __future__ import annotations

import asyncio

from config_server.sources import Query
from config_server.sources.vault import VaultConfigSource
from config_server.vault import VaultClientManager, VaultSettings, VaultSource
from tests.support.openbao import OpenBao

ORDERS = Query(("orders",), ("default",))
BILLING = Query(("billing",), ("default",))


def adapter(manager: VaultClientManager) -> VaultConfigSource:
    return VaultConfigSource(kv=VaultSource(manager, manager.settings), manager=manager, poll_interval=1)


async def test_secrets_are_never_pinned_and_read_as_the_caller(
    openbao: OpenBao, mount: str, root_manager: VaultClientManager
) -> None:
    """No pin (read per request); the caller's token reads the vault:<key> sources."""
    await asyncio.to_thread(openbao.write_kv2, "orders", {"password": "p"}, mount=mount)
    source = adapter(root_manager)
    assert await source.pin(ORDERS) is None
    part = await source.read(ORDERS, None, token=openbao.root_token)
    assert [ps.name for ps in part.sources] == ["vault:orders"]
    assert (part.version, part.stale) == (None, False)


async def test_a_poll_names_the_queries_whose_versions_moved(
    openbao: OpenBao, mount: str, root_manager: VaultClientManager
) -> None:
    """First poll: every watched query (versions unknown); then only those with a new version."""
    await asyncio.to_thread(openbao.write_kv2, "orders", {"password": "one"}, mount=mount)
    source = adapter(root_manager)
    assert await source.poll({ORDERS, BILLING}) == {ORDERS, BILLING}
    assert await source.poll({ORDERS, BILLING}) == set()
    await asyncio.to_thread(openbao.write_kv2, "orders", {"password": "two"}, mount=mount)
    assert await source.poll({ORDERS, BILLING}) == {ORDERS}


async def test_without_a_server_identity_every_poll_names_every_query(openbao: OpenBao, mount: str) -> None:
    """No server login, no metadata: each poll names all watched queries (they are recomputed)."""
    manager = VaultClientManager(VaultSettings(url=openbao.url, kv_mount=mount))
    await manager.start()
    try:
        source = adapter(manager)
        for _ in range(2):
            assert await source.poll({ORDERS}) == {ORDERS}
    finally:
        await manager.close()


async def test_health_is_the_managers_and_not_essential(root_manager: VaultClientManager) -> None:
    """The health entry is named vault, UP, and not essential (DOWN only degrades the server)."""
    entry = await adapter(root_manager).health()
    assert (entry.name, entry.status, entry.essential) == ("vault", "UP", False)


async def test_vault_serves_no_resources(root_manager: VaultClientManager) -> None:
    """Vault serves no plain-text resources."""
    assert await adapter(root_manager).resource(ORDERS, "orders.yml") is None
