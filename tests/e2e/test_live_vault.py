"""A new Vault secret version reaches a watching client through the server's Vault poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from config_client import AsyncConfigClient

from config_server.components import LIVE, SERVICE
from config_server.secret import Secret
from tests.e2e.live_support import ChangeLog, LiveServer, local_settings, wait_until
from tests.support.gitrepo import GitRemote
from tests.support.openbao import OpenBao

VAULT_POLL = 0.5
WRITE_TO_CALLBACK_BOUND = 3.0  # a few Vault polls


pytestmark = pytest.mark.usefixtures("no_backoff_sleeps")


@pytest.mark.vault
async def test_new_secret_version_reaches_the_watcher(
    bao: OpenBao, git_remote: GitRemote, tmp_path: Path
) -> None:
    """Writing a new KV version wakes the long poll within a few Vault polls; the value changes."""
    mount = f"live-{uuid.uuid4().hex[:8]}"
    bao.mount_kv(mount, version=2)
    bao.write_kv2("orders", {"db.password": "one"}, mount=mount)
    git_remote.write({"orders.yml": "db.url: jdbc:x\n"})
    settings = local_settings(
        git_remote.uri,
        tmp_path / "clone",
        vault_url=bao.url,
        vault_token=Secret(bao.root_token),
        vault_kv_mount=mount,
        vault_poll=VAULT_POLL,
    )
    server = await LiveServer(settings).start()
    changes = ChangeLog()
    try:
        async with AsyncConfigClient(server.url, application="orders", long_poll_wait=30) as client:
            client.on_change(changes)
            assert (client["db.password"], client["db.url"]) == ("one", "jdbc:x")
            live = server.app[LIVE]
            assert live is not None
            await wait_until(live.hub.watcher_count, 5)
            await asyncio.sleep(VAULT_POLL * 2)  # let the first poll learn the versions
            (vault,) = [s for s in server.app[SERVICE].sources if s.name == "vault"]
            reads = 0
            read_secrets = vault.read

            async def counting(*args: object, **kwargs: object) -> object:
                nonlocal reads
                reads += 1
                return await read_secrets(*args, **kwargs)  # type: ignore[arg-type]

            vault.read = counting  # type: ignore[method-assign]
            await asyncio.sleep(VAULT_POLL * 3)  # unchanged versions: no secret is read, nobody woken
            assert changes.events == [] and reads == 0

            await asyncio.to_thread(bao.write_kv2, "orders", {"db.password": "two"}, mount=mount)
            written = time.monotonic()
            arrived, event = await changes.next(WRITE_TO_CALLBACK_BOUND + 2)
            assert arrived - written < WRITE_TO_CALLBACK_BOUND
            assert event.changed == {"db.password": ("one", "two")}
            assert not event.added and not event.removed
    finally:
        await server.stop()
