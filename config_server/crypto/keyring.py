"""Several keys at once, for rotation, and the ``{key:ALIAS}`` dispatch between them.

The ring holds named encryptors (symmetric or RSA) and, optionally, Vault's transit engine.
``default`` decrypts values that name no key (every value written by a plain Spring setup);
``primary`` encrypts new values. Rotating means adding a new key, making it primary, and
rewriting files with :meth:`KeyRing.reencrypt` (see ``reencrypt.reencrypt_text``); old values
keep decrypting in the meantime because they name their key, or fall back to the default.

Aliases are matched case-insensitively, as Java's JKS and PKCS#12 keystores match them.
``{key:transit:NAME}`` names key NAME of the transit engine; that key never leaves Vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from config_server.crypto.prefixes import join_prefixes, split_prefixes
from config_server.crypto.rsa import RsaEncryptor
from config_server.errors import (
    DecryptionFailed,
    KeyFormatError,
    NoKey,
    NoPublicKey,
    ServerSideDecryptionUnsupported,
    WeakEncryption,
)

__all__ = [
    "NO_KEY_INSTALLED",
    "TRANSIT_PREFIX",
    "KeyRing",
    "KeyRingStatus",
    "TextEncryptor",
    "TransitCipher",
]

NO_KEY_INSTALLED = "No key was installed for encryption service"
TRANSIT_PREFIX = "transit:"
# Spring always overwrites these two with the request's application and profiles and never
# writes them into an output; they select nothing here.
_REQUEST_PAIRS = ("name", "profiles")


class TextEncryptor(Protocol):
    """One key: ``SymmetricEncryptor`` or ``RsaEncryptor``."""

    @property
    def can_decrypt(self) -> bool:
        """False for a certificate-only RSA key."""

    def encrypt(self, plaintext: str) -> str:
        """The ciphertext, without any prefix."""

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; raises DecryptionFailed, never leaking the key or the value."""


class TransitCipher(Protocol):
    """Vault's transit engine (implemented in ``sources``); ciphertexts look like ``vault:v1:...``."""

    def encrypt(self, key_name: str, plaintext: str) -> str:
        """The ``vault:v1:...`` ciphertext of ``plaintext`` under transit key ``key_name``."""

    def decrypt(self, key_name: str, ciphertext: str) -> str:
        """The plaintext of a ``vault:vN:...`` ciphertext."""


@dataclass(frozen=True, slots=True)
class KeyRingStatus:
    """What the ring holds, for operators (health details); ``GET /encrypt/status`` shows none of it."""

    aliases: tuple[str, ...]
    default: str | None
    primary: str | None
    transit: bool


class KeyRing:
    """Several keys at once (rotation); see the module docstring.

    ``decrypt`` picks the key from the ``{key:ALIAS}`` prefix, else the default key.
    ``encrypt`` uses the key the text names, else the primary, and writes ``{key:ALIAS}`` in
    front of the ciphertext unless the primary is also the default (so a plain Spring setup,
    one key and no prefixes, stays byte-compatible and Spring clients that decrypt locally
    can still read the values). ``default`` and ``primary`` may be ``"transit:NAME"`` when a
    transit cipher is given. An empty ring (no keys, no transit) raises NoKey on every
    operation. Immutable and thread-safe provided the encryptors are.
    """

    __slots__ = ("_default", "_keys", "_lenient", "_names", "_primary", "_transit")

    def __init__(
        self,
        *,
        keys: Mapping[str, TextEncryptor],
        default: str | None,
        primary: str | None,
        transit: TransitCipher | None = None,
        single_key_ignores_names: bool = False,
    ) -> None:
        """``single_key_ignores_names``: with one local key, encrypt and decrypt text naming an
        unknown ``{key:...}`` with it anyway (the name is kept in front of the ciphertext), as
        Spring's single-key setup (a plain ``encrypt.key``, symmetric or PEM) does."""
        self._keys: dict[str, TextEncryptor] = {}
        self._names: dict[str, str] = {}
        for alias, encryptor in keys.items():
            folded = alias.casefold()
            if not alias or alias.startswith(TRANSIT_PREFIX) or folded in self._keys:
                raise KeyFormatError(f"Key alias {alias!r} is empty, reserved or given twice")
            self._keys[folded] = encryptor
            self._names[folded] = alias
        self._transit = transit
        self._lenient = single_key_ignores_names and len(self._keys) == 1
        self._default = self._check(default, "default")
        self._primary = self._check(primary if primary is not None else default, "primary")

    def _check(self, alias: str | None, role: str) -> str | None:
        if alias is None:
            return None
        if alias.startswith(TRANSIT_PREFIX):
            if self._transit is None or not alias[len(TRANSIT_PREFIX) :]:
                raise KeyFormatError(f"The {role} key {alias!r} needs a transit key name and engine")
            return alias
        if alias.casefold() not in self._keys:
            raise KeyFormatError(f"The {role} key '{alias}' is not in the key ring")
        return self._names[alias.casefold()]

    def __repr__(self) -> str:
        return (
            f"KeyRing(aliases={sorted(self._names.values())!r}, default={self._default!r}, "
            f"primary={self._primary!r}, transit={self._transit is not None})"
        )

    @property
    def empty(self) -> bool:
        """True when the ring can do nothing (no key and no transit engine)."""
        return not self._keys and self._transit is None

    @property
    def primary(self) -> str | None:
        """The alias new values are encrypted with (None: each text must name its key)."""
        return self._primary

    @property
    def default(self) -> str | None:
        """The alias that decrypts values without a ``{key:...}`` prefix."""
        return self._default

    def key_alias(self, text: str) -> str | None:
        """The alias that would decrypt ``text`` (its ``{key:...}`` prefix, else the default)."""
        named = split_prefixes(text).get("key")
        if named is None:
            return self._default
        folded = named.casefold()
        return self._names.get(folded, named)

    def encrypt(self, text: str) -> str:
        """Encrypt ``text``; its prefixes (§1.4) are kept in front of the ciphertext.

        Raises NoKey when the ring is empty, no primary is set and the text names no key, or
        the text names an unknown key; WeakEncryption if the ciphertext is the text itself.
        """
        self._require_keys()
        parsed = split_prefixes(text)
        pairs = parsed.without(*_REQUEST_PAIRS)
        alias = parsed.get("key")
        if alias is None:
            if self._primary is None:
                raise NoKey("No primary key: name one with {key:ALIAS}")
            alias = self._primary
            if alias != self._default:
                pairs = (("key", alias), *pairs)
        out = join_prefixes(pairs, self._encrypt_with(alias, parsed.payload))
        if out == text:  # Spring's guard against a no-op encryptor
            raise WeakEncryption()
        return out

    def decrypt(self, text: str) -> str:
        """Decrypt ``text`` (without ``{cipher}``, perhaps with prefixes).

        Raises NoKey for an empty ring, ServerSideDecryptionUnsupported for a certificate-only
        key, and DecryptionFailed for an unknown alias (named in the message), no default key,
        or text not encrypted with the key.
        """
        self._require_keys()
        parsed = split_prefixes(text)
        alias = parsed.get("key")
        if alias is None:
            if self._default is None:
                raise DecryptionFailed("No default key: the text must name one with {key:ALIAS}")
            alias = self._default
        if alias.startswith(TRANSIT_PREFIX):
            return self._transit_cipher(alias, DecryptionFailed).decrypt(
                alias[len(TRANSIT_PREFIX) :], parsed.payload
            )
        encryptor = self._local(alias)
        if encryptor is None:
            raise DecryptionFailed(f"No key named '{alias}' in the key ring")
        if not encryptor.can_decrypt:
            raise ServerSideDecryptionUnsupported()
        return encryptor.decrypt(parsed.payload)

    def reencrypt(self, text: str) -> str:
        """Decrypt ``text`` with whatever key it names and encrypt the plaintext with the primary.

        ``{key:...}`` and ``{secret:...}`` belong to the old key and are replaced; other
        prefixes are kept. Raises like :meth:`decrypt`, and NoKey without a primary.
        """
        plaintext = self.decrypt(text)
        if self._primary is None:
            raise NoKey("No primary key to re-encrypt with")
        pairs: tuple[tuple[str, str], ...] = split_prefixes(text).without("key", "secret", *_REQUEST_PAIRS)
        if self._primary != self._default:
            pairs = (("key", self._primary), *pairs)
        return join_prefixes(pairs, self._encrypt_with(self._primary, plaintext))

    def status(self) -> KeyRingStatus:
        """The ring's status for ``GET /encrypt/status``; raises NoKey when empty."""
        self._require_keys()
        return KeyRingStatus(
            aliases=tuple(sorted(self._names.values())),
            default=self._default,
            primary=self._primary,
            transit=self._transit is not None,
        )

    def public_key(self, alias: str | None = None) -> str:
        """The OpenSSH public key (``ssh-rsa AAAA... application``) of ``alias``.

        Without an alias this is the default key's (the primary's if there is no default):
        a client that encrypts locally writes no prefix, so its values must match the key
        that decrypts prefix-less values. Raises NoPublicKey when the ring is empty or that key
        is unknown or not RSA.
        """
        if self.empty:
            raise NoPublicKey()
        chosen = alias if alias is not None else (self._default or self._primary)
        encryptor = self._keys.get(chosen.casefold()) if chosen is not None else None
        if not isinstance(encryptor, RsaEncryptor):
            raise NoPublicKey()
        return encryptor.public_key_openssh()

    def _require_keys(self) -> None:
        if self.empty:
            raise NoKey(NO_KEY_INSTALLED)

    def _encrypt_with(self, alias: str, plaintext: str) -> str:
        if alias.startswith(TRANSIT_PREFIX):
            return self._transit_cipher(alias, NoKey).encrypt(alias[len(TRANSIT_PREFIX) :], plaintext)
        encryptor = self._local(alias)
        if encryptor is None:
            raise NoKey(f"No key named '{alias}' in the key ring")
        return encryptor.encrypt(plaintext)

    def _local(self, alias: str) -> TextEncryptor | None:
        """The local key called ``alias`` (any case); the lone key for any name when lenient."""
        encryptor = self._keys.get(alias.casefold())
        if encryptor is None and self._lenient:
            encryptor = next(iter(self._keys.values()))
        return encryptor

    def _transit_cipher(self, alias: str, error: type[NoKey] | type[DecryptionFailed]) -> TransitCipher:
        if self._transit is None or not alias[len(TRANSIT_PREFIX) :]:
            raise error(f"No transit key for '{alias}'")
        return self._transit
