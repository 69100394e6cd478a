"""Composition of the optional secret machinery from settings: Vault source, key ring, decryption.

Kept apart from the HTTP app so the CLI (``encrypt``/``decrypt``/``reencrypt``) builds the same
key ring from the same settings. ``start_secrets`` gives what the environment service is built
with (the Vault ``Source``, the ``decrypt`` function); ``ordered_sources`` puts the sources in
``--vault-order``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config_client.wire import PropertySource

from config_server.errors import KeyFormatError
from config_server.service import Decryptor
from config_server.settings import Settings
from config_server.sources.base import Source

if TYPE_CHECKING:
    from config_server.crypto.keyring import KeyRing
    from config_server.vault.client import VaultClientManager

__all__ = ["Secrets", "build_keyring", "ordered_sources", "start_secrets", "stop_secrets", "vault_settings"]

log = logging.getLogger(__name__)


def vault_settings(settings: Settings) -> Any:
    from config_server.vault.settings import VaultSettings

    if settings.vault_url is None:
        return None
    try:
        return VaultSettings(
            url=settings.vault_url,
            kv_mount=settings.vault_kv_mount,
            kv_version=settings.vault_kv_version,
            namespace=settings.vault_namespace,
            token=settings.vault_token,
            role_id=settings.vault_role_id,
            secret_id=settings.vault_secret_id,
            stale_ttl=settings.vault_stale_ttl,
        )
    except ValueError as exc:
        raise KeyFormatError(f"invalid Vault settings: {exc}") from None


def _extra_keys(settings: Settings) -> dict[str, str]:
    if settings.encrypt_keys is None:
        return {}
    out: dict[str, str] = {}
    for item in settings.encrypt_keys.reveal().split(","):
        alias, sep, key = item.strip().partition("=")
        if not sep or not alias.strip() or not key:
            raise KeyFormatError("--encrypt-keys must be a comma list of ALIAS=KEY")
        out[alias.strip()] = key
    return out


def build_keyring(settings: Settings, *, transit: Any = None) -> KeyRing | None:
    """The key ring for ``settings``; None when no key at all is configured (and no transit)."""
    from config_server.crypto.keyring import KeyRing
    from config_server.crypto.keystore import DEFAULT_ALIAS, load_rsa_keys, parse_rsa_keys
    from config_server.crypto.rsa import RsaEncryptor
    from config_server.crypto.symmetric import SymmetricEncryptor

    keys: dict[str, Any] = {}
    default: str | None = None
    primary: str | None = None
    if settings.encrypt_key is not None:
        key = settings.encrypt_key.reveal()
        if "PRIVATE KEY-----" in key:  # Spring: an inline PEM key pair is an RSA key (§5.4)
            material = next(iter(parse_rsa_keys(key.encode(), password=None).values()))
            keys["default"] = RsaEncryptor.from_key(
                material,
                algorithm=settings.encrypt_rsa_algorithm,
                strong=settings.encrypt_rsa_strong,
                salt=settings.encrypt_rsa_salt,
            )
        else:
            keys["default"] = SymmetricEncryptor(key, settings.encrypt_salt)
        default = primary = "default"

    def add(alias: str, encryptor: Any) -> None:
        # A dict would replace the first key silently; KeyRing refuses spellings differing in case.
        if alias in keys:
            raise KeyFormatError(f"the key alias '{alias}' is given twice")
        keys[alias] = encryptor

    for alias, key in _extra_keys(settings).items():
        add(alias, SymmetricEncryptor(key, settings.encrypt_salt))
    if settings.encrypt_keystore is not None:
        password = settings.encrypt_keystore_password.reveal() if settings.encrypt_keystore_password else None
        secret = settings.encrypt_key_secret.reveal() if settings.encrypt_key_secret else None
        loaded = load_rsa_keys(
            settings.encrypt_keystore,
            password=password,
            key_password=secret,
            type=settings.encrypt_keystore_type,
            alias=settings.encrypt_key_alias,
        )
        if settings.encrypt_key_alias is None and list(loaded) == [DEFAULT_ALIAS] and DEFAULT_ALIAS in keys:
            # A PEM (or unnamed PKCS#12) key has no alias of its own: beside --encrypt-key, which
            # is "default", it is "rsa", so both stay usable.
            loaded = {"rsa": loaded[DEFAULT_ALIAS]}
        for alias, material in loaded.items():
            add(
                alias,
                RsaEncryptor.from_key(
                    material,
                    algorithm=settings.encrypt_rsa_algorithm,
                    strong=settings.encrypt_rsa_strong,
                    salt=settings.encrypt_rsa_salt,
                ),
            )
        chosen = settings.encrypt_key_alias or next(iter(loaded), None)
        if chosen is not None:
            if chosen not in keys:
                raise KeyFormatError(f"no key with alias '{chosen}' in the keystore")
            default = primary = chosen
    if settings.encrypt_primary is not None:
        primary = settings.encrypt_primary
        if primary not in keys and not primary.startswith("transit:"):
            raise KeyFormatError(f"--encrypt-primary names an unknown key alias '{primary}'")
    if not keys and transit is None:
        return None
    return KeyRing(
        keys=keys,
        default=default,
        primary=primary,
        transit=transit,
        # Only --encrypt-key, as in a plain Spring setup, where {key:...} names select nothing.
        single_key_ignores_names=settings.encrypt_keystore is None and not settings.encrypt_keys,
    )


async def start_vault(settings: Settings) -> VaultClientManager | None:
    """Start the server's Vault identity (None when Vault is not configured)."""
    if settings.vault_url is None:
        return None
    from config_server.vault.client import VaultClientManager

    manager = VaultClientManager(vault_settings(settings))
    await manager.start()
    return manager


@dataclass(frozen=True)
class Secrets:
    """The started secret machinery: what the service is built with and the app must close."""

    vault: VaultClientManager | None  # the server's Vault identity, when --vault-url is set
    source: Source | None  # the Vault KV source, when --vault-url is set
    keyring: KeyRing | None
    decrypt: Decryptor


async def start_secrets(settings: Settings) -> Secrets:
    """Start Vault (when configured) and build its source, the key ring and decryption.

    Raises ``Forbidden`` if Vault refuses the configured credentials, ``KeyFormatError`` for
    unusable keys or Vault settings (Vault is closed again then).
    """
    manager = await start_vault(settings)
    try:
        source, transit = _vault_parts(settings, manager)
        ring = build_keyring(settings, transit=transit)
    except BaseException:
        if manager is not None:
            await manager.close()
        raise
    from config_server.crypto.environment import decrypt_sources

    def on_failure(source: str, key: str, alias: str | None) -> None:
        log.warning("cannot decrypt %s in %s (key %s)", key, source, alias or "default")

    async def decrypt(sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
        return await asyncio.to_thread(decrypt_sources, sources, ring, on_failure=on_failure)

    return Secrets(vault=manager, source=source, keyring=ring, decrypt=decrypt)


def _vault_parts(settings: Settings, manager: VaultClientManager | None) -> tuple[Source | None, Any]:
    if manager is None:
        return None, None
    from config_server.sources.vault import VaultConfigSource
    from config_server.vault.kv import VaultSource
    from config_server.vault.transit import VaultTransit

    source = VaultConfigSource(
        kv=VaultSource(manager, manager.settings), manager=manager, poll_interval=settings.vault_poll
    )
    # Transit runs as the server, never as a caller: decrypted git values are cached per
    # commit and shared by every caller. Without a server login there is no transit key, so
    # such values become invalid.<key> (and /encrypt with {key:transit:...} is NO_KEY).
    if manager.settings.auth_method == "none":
        log.info("Vault transit is off: it needs the server's own Vault login (token or AppRole)")
        return source, None
    return source, VaultTransit(manager)


def ordered_sources(git: Source, vault: Source | None, *, vault_order: str) -> list[Source]:
    """The service's sources in precedence order: Vault ``before`` (the default) or ``after`` git."""
    if vault is None:
        return [git]
    return [vault, git] if vault_order == "before" else [git, vault]


async def stop_secrets(secrets: Secrets) -> None:
    """Close what ``start_secrets`` started."""
    if secrets.vault is not None:
        await secrets.vault.close()
