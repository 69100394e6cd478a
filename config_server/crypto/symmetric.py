"""Spring Security's AES text encryption (reference §5.4), byte-compatible.

``Encryptors.text(key, salt)``: PBKDF2-HMAC-SHA1 over the UTF-8 password with the hex-decoded
salt, 1024 iterations, a 256-bit AES key; AES/CBC/PKCS5Padding with a random 16-byte IV; the
output is lowercase ``hex(iv || ciphertext)``. The GCM variant (``Encryptors.stronger``, used
inside the RSA scheme) writes ``iv16 || ciphertext || tag16``. Pure: no I/O; instances are
immutable and safe to share between threads.
"""

from __future__ import annotations

import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from config_server.errors import DecryptionFailed, KeyFormatError

__all__ = ["NOT_THIS_KEY", "AesBytesEncryptor", "SymmetricEncryptor", "is_hex", "parse_hex_salt"]

NOT_THIS_KEY = "Text not encrypted with this key"
_IV = 16
_BLOCK = 16
_TAG = 16
_ITERATIONS = 1024
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def is_hex(text: str) -> bool:
    """True when ``text`` is a non-empty, even-length run of hex digits."""
    return _HEX.fullmatch(text) is not None


def parse_hex_salt(salt: str) -> bytes:
    """Decode a salt given as hex, as Spring's ``Hex.decode`` does; raise KeyFormatError otherwise."""
    if not is_hex(salt):
        raise KeyFormatError("The encryption salt must be an even number of hex digits, e.g. deadbeef")
    return bytes.fromhex(salt)


def encode_text(text: str) -> bytes:
    """UTF-8, with lone surrogates written as '?' exactly as Java's ``String.getBytes(UTF_8)`` does."""
    return text.encode("utf-8", errors="replace")


def decode_text(data: bytes) -> str:
    # Java would substitute U+FFFD; bytes that are not UTF-8 can only come from a wrong key here,
    # because every value Spring or we encrypt started as valid UTF-8, so refuse instead.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionFailed(NOT_THIS_KEY) from None


class AesBytesEncryptor:
    """AES-256 keyed by PBKDF2(password, salt); CBC (``gcm=False``) or GCM, IV prepended."""

    __slots__ = ("_gcm", "_key")

    def __init__(self, password: str, salt: bytes, *, gcm: bool = False) -> None:
        kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=_ITERATIONS)
        self._key = kdf.derive(password.encode("utf-8"))
        self._gcm = gcm

    def __repr__(self) -> str:
        return f"AesBytesEncryptor(mode={'GCM' if self._gcm else 'CBC'})"

    def encrypt(self, data: bytes) -> bytes:
        """``iv || ciphertext`` (CBC) or ``iv || ciphertext || tag`` (GCM) with a fresh random IV."""
        iv = os.urandom(_IV)
        if self._gcm:
            return iv + AESGCM(self._key).encrypt(iv, data, None)
        padder = padding.PKCS7(128).padder()
        enc = Cipher(algorithms.AES(self._key), modes.CBC(iv)).encryptor()
        return iv + enc.update(padder.update(data) + padder.finalize()) + enc.finalize()

    def decrypt(self, blob: bytes) -> bytes:
        """Invert :meth:`encrypt`; raises DecryptionFailed on a wrong key or damaged input."""
        iv, body = blob[:_IV], blob[_IV:]
        if self._gcm:
            if len(body) < _TAG:
                raise DecryptionFailed(NOT_THIS_KEY)
            try:
                return AESGCM(self._key).decrypt(iv, body, None)
            except InvalidTag:
                raise DecryptionFailed(NOT_THIS_KEY) from None
        if not body or len(body) % _BLOCK:
            raise DecryptionFailed(NOT_THIS_KEY)
        dec = Cipher(algorithms.AES(self._key), modes.CBC(iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(dec.update(body) + dec.finalize()) + unpadder.finalize()
        except ValueError:
            raise DecryptionFailed(NOT_THIS_KEY) from None


class SymmetricEncryptor:
    """A shared-secret ``encrypt.key`` (reference §5.4): ``hex(iv || AES-CBC(text))``.

    Raises KeyFormatError at construction for an empty key, a salt that is not hex, or key text
    that is really an RSA public key (Spring refuses those too rather than using them as a
    password). ``decrypt`` accepts either hex case and raises DecryptionFailed, whose message
    never contains the key or the value.
    """

    __slots__ = ("_aes",)

    can_decrypt = True

    def __init__(self, key: str, salt: str = "deadbeef") -> None:
        if not key:
            raise KeyFormatError("The encryption key must not be empty")
        if key.lstrip().startswith("ssh-rsa") or "-----BEGIN" in key:
            raise KeyFormatError("Key data not in correct format (PEM or jks keystore)")
        self._aes = AesBytesEncryptor(key, parse_hex_salt(salt))

    def __repr__(self) -> str:
        return "SymmetricEncryptor(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """Lowercase hex of ``iv || ciphertext``."""
        return self._aes.encrypt(encode_text(plaintext)).hex()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; raises DecryptionFailed for text not encrypted with this key."""
        try:
            raw = binascii.unhexlify(ciphertext)
        except (binascii.Error, ValueError):
            raise DecryptionFailed(NOT_THIS_KEY) from None
        if len(raw) <= _IV:
            raise DecryptionFailed(NOT_THIS_KEY)
        return decode_text(self._aes.decrypt(raw))
