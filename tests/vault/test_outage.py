"""Vault outages on a private OpenBao (sealing the shared one would break other tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from config_server.errors import Forbidden, Unavailable
from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings, VaultSource, VaultTransit
from tests.support.openbao import OpenBao

STALE_TTL = 1.0


@pytest.fixture(scope="module")
def private_bao() -> Iterator[OpenBao]:
    """An OpenBao of this module's own, with myapp and application secrets and a transit key."""
    with OpenBao() as bao:
        bao.write_kv2("myapp", {"a": 1})
        bao.write_kv2("application", {"b": 2})
        bao.enable_transit("cfg")
        yield bao


@pytest.fixture
def sealed(private_bao: OpenBao) -> Iterator[OpenBao]:
    """The private server, to be sealed by the test; unsealed again afterwards whatever happens."""
    yield private_bao
    if private_bao.client().sys.read_seal_status()["sealed"]:
        private_bao.unseal()


@pytest.fixture
async def manager(private_bao: OpenBao) -> AsyncIterator[VaultClientManager]:
    """A manager logged in to the private server with the root token."""
    settings = VaultSettings(url=private_bao.url, token=Secret(private_bao.root_token), stale_ttl=STALE_TTL)
    m = VaultClientManager(settings)
    await m.start()
    yield m
    await m.close()


def source(manager: VaultClientManager, *, stale_ttl: float = STALE_TTL) -> VaultSource:
    settings = VaultSettings(url=manager.settings.url, token=manager.settings.token, stale_ttl=stale_ttl)
    return VaultSource(manager, settings)


async def test_sealed_vault_is_unavailable(sealed: OpenBao, manager: VaultClientManager) -> None:
    """Reading from a sealed Vault with no stale answer allowed is Unavailable (503)."""
    vault = source(manager, stale_ttl=0)
    await vault.read(["myapp"], [])
    sealed.seal()
    with pytest.raises(Unavailable, match="Vault is unavailable: sealed or down"):
        await vault.read(["myapp"], [])


async def test_stale_answer_within_stale_ttl_then_unavailable(
    sealed: OpenBao, manager: VaultClientManager, caplog: pytest.LogCaptureFixture
) -> None:
    """While sealed, the last good read is served marked stale for stale_ttl, then Unavailable."""
    vault = source(manager)
    fresh = await vault.read(["myapp"], [])
    assert not fresh.stale and [ps.name for ps in fresh.sources] == ["vault:myapp", "vault:application"]
    sealed.seal()
    stale = await vault.read(["myapp"], [])
    assert stale.stale and stale.sources == fresh.sources
    assert "serving the last known secrets" in caplog.text
    await asyncio.sleep(STALE_TTL + 0.1)
    with pytest.raises(Unavailable):
        await vault.read(["myapp"], [])


async def test_stale_answer_is_only_for_the_same_keys_and_identity(
    sealed: OpenBao, manager: VaultClientManager
) -> None:
    """A stale answer is never given for other keys or to another token."""
    vault = source(manager)
    caller = sealed.create_token(policies=["root"], ttl="5m")
    await vault.read(["myapp"], [], token=caller)
    sealed.seal()
    assert (await vault.read(["myapp"], [], token=caller)).stale
    with pytest.raises(Unavailable):
        await vault.read(["myapp"], [])  # the server identity never read these keys
    with pytest.raises(Unavailable):
        await vault.read(["myapp"], ["dev"], token=caller)  # other keys
    with pytest.raises(Unavailable):
        await vault.read(["myapp"], [], token="hvs.someone-else")


async def test_refused_token_is_never_answered_from_the_stale_cache(
    private_bao: OpenBao, manager: VaultClientManager
) -> None:
    """Stale answers cover outages only: a token Vault refuses stays Forbidden."""
    vault = source(manager)
    caller = private_bao.create_token(policies=["root"], ttl="5m")
    await vault.read(["myapp"], [], token=caller)
    private_bao.client().auth.token.revoke(caller)
    with pytest.raises(Forbidden):
        await vault.read(["myapp"], [], token=caller)


async def test_zero_stale_ttl_disables_stale_answers(sealed: OpenBao, manager: VaultClientManager) -> None:
    """stale_ttl 0 never serves a cached answer."""
    vault = source(manager, stale_ttl=0)
    await vault.read(["myapp"], [])
    sealed.seal()
    with pytest.raises(Unavailable):
        await vault.read(["myapp"], [])


async def test_health_is_down_while_sealed(sealed: OpenBao, manager: VaultClientManager) -> None:
    """Health reports DOWN with sealed=true while Vault is sealed, UP again once unsealed."""
    assert (await manager.health()).status == "UP"
    sealed.seal()
    health = await manager.health()
    assert health.status == "DOWN" and health.details["sealed"] is True
    sealed.unseal()
    assert (await manager.health()).status == "UP"


async def test_transit_on_sealed_vault_is_unavailable(sealed: OpenBao, manager: VaultClientManager) -> None:
    """Transit calls while Vault is sealed are Unavailable, not a decryption failure."""
    transit = VaultTransit(manager)
    ciphertext = await asyncio.to_thread(transit.encrypt, "cfg", "x")
    sealed.seal()
    with pytest.raises(Unavailable):
        await asyncio.to_thread(transit.decrypt, "cfg", ciphertext)


async def test_stopped_vault_is_unavailable_and_login_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    """With Vault stopped reads are Unavailable; the manager logs in once Vault is back."""
    caplog.set_level(logging.WARNING, logger="config_server.vault")
    # Starting and stopping a dev server blocks for a while: keep it off the event loop.
    bao = await asyncio.to_thread(OpenBao().start)
    try:
        await asyncio.to_thread(bao.write_kv2, "myapp", {"a": 1})
        settings = VaultSettings(url=bao.url, token=Secret(bao.root_token), stale_ttl=0, timeout=1)
        await asyncio.to_thread(bao.stop)
        manager = VaultClientManager(settings)
        await manager.start()  # does not fail: Vault may come up later
        try:
            vault = VaultSource(manager, settings)
            with pytest.raises(Unavailable):
                await vault.read(["myapp"], [])
            assert "Vault login failed: Vault is unavailable: cannot connect" in caplog.text
            # A restarted dev server is empty but knows the root token.
            await asyncio.to_thread(bao.start, port=bao.port)
            for _ in range(50):
                if manager.logins:
                    break
                await asyncio.sleep(0.1)
            assert manager.logins == 1
            assert (await vault.read(["myapp"], [])).sources == ()
        finally:
            await manager.close()
    finally:
        bao.close()
