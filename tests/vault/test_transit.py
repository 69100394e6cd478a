"""VaultTransit against a real OpenBao: round trips, key rotation, refusals."""

from __future__ import annotations

import asyncio

import pytest

from config_server.errors import DecryptionFailed, Forbidden, KeyFormatError, NoKey
from config_server.secret import Secret
from config_server.vault import VaultClientManager, VaultSettings, VaultTransit
from tests.support.openbao import OpenBao
from tests.vault.conftest import unique


@pytest.fixture
def key(openbao: OpenBao) -> str:
    """A fresh transit key on the shared server."""
    name = unique("cfg-key")
    openbao.enable_transit(name)
    return name


@pytest.fixture
def transit(root_manager: VaultClientManager) -> VaultTransit:
    """Transit with the server's (root) identity."""
    return VaultTransit(root_manager)


@pytest.mark.parametrize("plaintext", ["s3cr3t", "", "ünïcödé ✓ 🔑", "multi\nline\x00nul", "x" * 10_000])
async def test_round_trip(transit: VaultTransit, key: str, plaintext: str) -> None:
    """encrypt gives vault:v1:… ciphertext that decrypt turns back into the same text."""
    ciphertext = await asyncio.to_thread(transit.encrypt, key, plaintext)
    assert ciphertext.startswith("vault:v1:")
    assert plaintext == "" or plaintext not in ciphertext
    assert await asyncio.to_thread(transit.decrypt, key, ciphertext) == plaintext


async def test_rotated_key_still_decrypts_old_ciphertext(
    openbao: OpenBao, transit: VaultTransit, key: str
) -> None:
    """After rotation new ciphertext uses v2 and v1 ciphertext still decrypts."""
    old = await asyncio.to_thread(transit.encrypt, key, "before")
    openbao.rotate_transit_key(key)
    new = await asyncio.to_thread(transit.encrypt, key, "after")
    assert new.startswith("vault:v2:")
    assert await asyncio.to_thread(transit.decrypt, key, old) == "before"
    assert await asyncio.to_thread(transit.decrypt, key, new) == "after"


@pytest.mark.parametrize(
    "ciphertext",
    ["plain text", "vault:v1:", "vault:vX:AAAA", "{cipher}abcd", "vault:v1:not base64!", " vault:v1:AAAA"],
)
async def test_text_that_is_not_transit_ciphertext_fails_to_decrypt(
    transit: VaultTransit, key: str, ciphertext: str
) -> None:
    """Anything not shaped like vault:v<N>:<base64> is DecryptionFailed without asking Vault."""
    with pytest.raises(DecryptionFailed, match="Not Vault transit ciphertext"):
        await asyncio.to_thread(transit.decrypt, key, ciphertext)


async def test_tampered_ciphertext_fails_to_decrypt(transit: VaultTransit, key: str) -> None:
    """Ciphertext Vault cannot authenticate is DecryptionFailed and the message does not echo it."""
    ciphertext = await asyncio.to_thread(transit.encrypt, key, "hello")
    body = ciphertext.removeprefix("vault:v1:")
    tampered = "vault:v1:" + ("B" if body[0] != "B" else "C") + body[1:]
    with pytest.raises(DecryptionFailed) as info:
        await asyncio.to_thread(transit.decrypt, key, tampered)
    assert body not in info.value.message


async def test_ciphertext_of_another_key_fails_to_decrypt(
    openbao: OpenBao, transit: VaultTransit, key: str
) -> None:
    """Ciphertext made with one key does not decrypt with another."""
    other = unique("other-key")
    openbao.enable_transit(other)
    ciphertext = await asyncio.to_thread(transit.encrypt, other, "hello")
    with pytest.raises(DecryptionFailed):
        await asyncio.to_thread(transit.decrypt, key, ciphertext)


async def test_unknown_key_is_no_key(transit: VaultTransit) -> None:
    """Decrypting with a key Vault does not have is NoKey."""
    with pytest.raises(NoKey, match="no transit key"):
        await asyncio.to_thread(
            transit.decrypt, unique("missing"), "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        )


@pytest.mark.parametrize("name", ["", "../sys", "a/b", "a b", "k" * 200])
async def test_impossible_key_names_are_no_key(transit: VaultTransit, name: str) -> None:
    """A key name that cannot be a transit key is NoKey before Vault is asked."""
    with pytest.raises(NoKey):
        await asyncio.to_thread(transit.encrypt, name, "x")


async def test_signing_key_cannot_encrypt(openbao: OpenBao, transit: VaultTransit) -> None:
    """A key whose type cannot encrypt (ed25519) is KeyFormatError."""
    name = unique("signing")
    openbao.enable_transit(name)  # ensure the mount exists
    openbao.client().secrets.transit.create_key(name=name + "-ed", key_type="ed25519")
    with pytest.raises(KeyFormatError):
        await asyncio.to_thread(transit.encrypt, name + "-ed", "x")


async def test_server_token_without_transit_rights_is_forbidden(openbao: OpenBao, key: str) -> None:
    """A server identity whose policy lacks transit access gets Forbidden."""
    token = openbao.create_token(policies=["default"], ttl="5m")
    manager = VaultClientManager(VaultSettings(url=openbao.url, token=Secret(token)))
    await manager.start()
    try:
        with pytest.raises(Forbidden):
            await asyncio.to_thread(VaultTransit(manager).encrypt, key, "x")
    finally:
        await manager.close()


async def test_no_engine_at_the_mount_is_a_crypto_error(root_manager: VaultClientManager) -> None:
    """An engine that is not mounted is a decryption failure (or NoKey to encrypt), never a 404
    that would fail the whole environment as if its label were missing."""
    transit = VaultTransit(root_manager, mount=unique("nowhere"))
    with pytest.raises(DecryptionFailed, match="no transit engine"):
        await asyncio.to_thread(transit.decrypt, "k", "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(NoKey, match="no transit engine"):
        await asyncio.to_thread(transit.encrypt, "k", "x")
