"""Every call to Vault has a timeout: a Vault that accepts connections but never answers fails fast."""

from __future__ import annotations

import socket
import time

from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings


async def test_a_vault_that_never_answers_fails_within_the_timeout() -> None:
    """Login to an address that accepts but never answers gives up after the 0.5 s timeout, not never."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes the handshakes; nothing ever reads or answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        manager = VaultClientManager(VaultSettings(url=url, token=Secret("s.whatever"), timeout=0.5))
        start = time.monotonic()
        await manager.start()  # does not fail: Vault may come up later
        try:
            took = time.monotonic() - start
            health = await manager.health()
        finally:
            await manager.close()
    assert 0.4 < took < 2
    assert health.status == "DOWN"
    assert health.details["error"] == "Vault is unavailable: the request timed out"
