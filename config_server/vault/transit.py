"""Encryption as a service: Vault's transit engine behind the ``encrypt``/``decrypt`` protocol.

Plaintext is UTF-8 text; it is base64-encoded for Vault and decoded back here. Ciphertext is
Vault's own ``vault:v<N>:<base64>`` string, so a rotated key still decrypts everything it
encrypted before (Vault keeps old key versions unless ``min_decryption_version`` is raised).
Calls run with the server's own Vault identity and *block*: call them from an executor thread
(the crypto layer does), never on the event loop.

Errors: text that is not ``vault:v<N>:…`` ciphertext, or that Vault cannot decrypt with the key,
is ``DecryptionFailed``; a key Vault does not have (or a name that cannot be one) is ``NoKey``; a
key whose type cannot encrypt is ``KeyFormatError``; no engine at the mount is ``DecryptionFailed``
(decrypting: the value becomes ``invalid.<key>``) or ``NoKey`` (encrypting);
a refused token ``Forbidden``; Vault down or sealed ``Unavailable``. No message contains the
plaintext or the ciphertext.

Note that Vault's ``encrypt`` creates a missing key on first use when the server's policy grants
``create`` on ``transit/encrypt/<key>``; grant only ``update`` to make a typo an error instead.
"""

from __future__ import annotations

import base64
import binascii
import re

import hvac.exceptions

from config_server.errors import CryptoError, DecryptionFailed, KeyFormatError, NoKey
from config_server.vault.client import VaultClientManager
from config_server.vault.errors import translate_errors

__all__ = ["VaultTransit"]

_KEY_NAME = re.compile(r"[A-Za-z0-9_\-.]{1,128}")
_CIPHERTEXT = re.compile(r"vault:v[0-9]+:[A-Za-z0-9+/=]+")


class VaultTransit:
    """``encrypt``/``decrypt`` with a Vault transit engine mounted at ``mount``; thread-safe."""

    def __init__(self, manager: VaultClientManager, *, mount: str = "transit") -> None:
        self._manager = manager
        self._mount = mount

    def encrypt(self, key_name: str, plaintext: str) -> str:
        """Encrypt UTF-8 ``plaintext`` with transit key ``key_name``; returns ``vault:v<N>:…``."""
        self._check_key_name(key_name)
        encoded = base64.b64encode(plaintext.encode("utf-8")).decode("ascii")
        with translate_errors():
            try:
                resp = self._manager.server_client().secrets.transit.encrypt_data(
                    name=key_name, plaintext=encoded, mount_point=self._mount
                )
            except hvac.exceptions.InvalidRequest as exc:
                raise _refusal(key_name, exc, decrypting=False) from exc
            except hvac.exceptions.InvalidPath as exc:
                raise NoKey(self._no_engine()) from exc
            ciphertext = resp["data"]["ciphertext"]
        return str(ciphertext)

    def decrypt(self, key_name: str, ciphertext: str) -> str:
        """Decrypt ``vault:v<N>:…`` text with transit key ``key_name``; returns the UTF-8 plaintext."""
        self._check_key_name(key_name)
        if not _CIPHERTEXT.fullmatch(ciphertext):
            raise DecryptionFailed("Not Vault transit ciphertext (expected vault:v<N>:<base64>)")
        with translate_errors():
            try:
                resp = self._manager.server_client().secrets.transit.decrypt_data(
                    name=key_name, ciphertext=ciphertext, mount_point=self._mount
                )
            except hvac.exceptions.InvalidRequest as exc:
                raise _refusal(key_name, exc, decrypting=True) from exc
            except hvac.exceptions.InvalidPath as exc:
                raise DecryptionFailed(self._no_engine()) from exc
            encoded = resp["data"]["plaintext"]
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError) as exc:
            raise DecryptionFailed(f"Vault transit key {key_name!r} did not give back UTF-8 text") from exc

    def _no_engine(self) -> str:
        # A 404 here is a missing (or differently mounted) engine, never a missing label: it must
        # not become the request's 404.
        return f"Vault has no transit engine at {self._mount}/ (not enabled, or in another namespace)"

    @staticmethod
    def _check_key_name(key_name: str) -> None:
        if not _KEY_NAME.fullmatch(key_name):
            raise NoKey("No Vault transit key by that name (names are letters, digits, '_', '-', '.')")


def _refusal(key_name: str, exc: hvac.exceptions.InvalidRequest, *, decrypting: bool) -> CryptoError:
    # Vault answers 400 for an unknown key, for ciphertext it cannot decrypt, and for a key whose
    # type cannot encrypt (a signing key); only its error text tells them apart.
    if any("not found" in str(e).lower() for e in (exc.errors or [])):
        return NoKey(f"Vault has no transit key {key_name!r}")
    if decrypting:
        return DecryptionFailed(f"Vault transit could not decrypt with key {key_name!r}")
    return KeyFormatError(f"Vault transit key {key_name!r} cannot encrypt")
