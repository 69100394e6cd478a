"""Spring Security's ``RsaSecretEncryptor`` (reference §5.5), byte-compatible.

Each value gets a fresh 16-byte secret; the secret is RSA-encrypted with the public key and its
lowercase hex is the password of an AES encryptor (CBC, or GCM when ``strong``)::

    base64( uint16_be(len(rsa)) || rsa || aes(password=hex(secret), salt).encrypt(utf8(text)) )

Pure: keys come in as ``cryptography`` objects (see ``keystore`` for loading them). Instances are
immutable and safe to share between threads.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from config_server.crypto.symmetric import (
    NOT_THIS_KEY,
    AesBytesEncryptor,
    decode_text,
    encode_text,
    is_hex,
    parse_hex_salt,
)
from config_server.errors import DecryptionFailed, KeyFormatError, ServerSideDecryptionUnsupported

__all__ = ["ALGORITHMS", "RsaEncryptor", "RsaKey"]

ALGORITHMS = ("DEFAULT", "OAEP")
_SECRET = 16
_MIN_BITS = 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True, slots=True)
class RsaKey:
    """One keystore entry: a public key and, unless the entry is a bare certificate, its private key."""

    public_key: RSAPublicKey
    private_key: RSAPrivateKey | None = None

    @property
    def can_decrypt(self) -> bool:
        """False for a certificate-only entry."""
        return self.private_key is not None

    def __repr__(self) -> str:
        kind = "private" if self.private_key is not None else "public only"
        return f"RsaKey({self.public_key.key_size} bits, {kind})"


class RsaEncryptor:
    """Encrypt with an RSA public key and, when the private key is present, decrypt.

    ``algorithm`` is ``"DEFAULT"`` (RSA/ECB/PKCS1Padding) or ``"OAEP"`` (OAEP with SHA-1 and
    MGF1-SHA-1, Java's ``RSA/ECB/OAEPPadding``), case-insensitive. ``strong`` selects AES-GCM
    instead of AES-CBC. ``salt`` is used as hex if it is hex, else as the hex of its UTF-8 bytes.
    Raises KeyFormatError for missing or mismatched keys, keys under 1024 bits, an unknown
    algorithm or an empty salt.
    """

    __slots__ = ("_algorithm", "_padding", "_private", "_public", "_salt", "_strong")

    def __init__(
        self,
        *,
        private_key: RSAPrivateKey | None = None,
        public_key: RSAPublicKey | None = None,
        algorithm: str = "DEFAULT",
        strong: bool = False,
        salt: str = "deadbeef",
    ) -> None:
        if private_key is not None and not isinstance(private_key, RSAPrivateKey):
            raise KeyFormatError("The private key is not an RSA key")
        if public_key is not None and not isinstance(public_key, RSAPublicKey):
            raise KeyFormatError("The public key is not an RSA key")
        if public_key is None:
            if private_key is None:
                raise KeyFormatError("An RSA encryptor needs a public or a private key")
            public_key = private_key.public_key()
        elif private_key is not None and private_key.public_key().public_numbers() != (
            public_key.public_numbers()
        ):
            raise KeyFormatError("The RSA public key does not belong to the private key")
        if public_key.key_size < _MIN_BITS:
            raise KeyFormatError(f"RSA keys must have at least {_MIN_BITS} bits")
        name = algorithm.upper()
        if name not in ALGORITHMS:
            raise KeyFormatError(f"Unknown RSA algorithm {algorithm!r}; expected DEFAULT or OAEP")
        if not salt:
            raise KeyFormatError("The encryption salt must not be empty")
        self._public = public_key
        self._private = private_key
        self._algorithm = name
        self._padding: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if name == "DEFAULT"
            else padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        )
        self._strong = strong
        self._salt = parse_hex_salt(salt if is_hex(salt) else encode_text(salt).hex())

    @classmethod
    def from_key(
        cls, key: RsaKey, *, algorithm: str = "DEFAULT", strong: bool = False, salt: str = "deadbeef"
    ) -> RsaEncryptor:
        """An encryptor for one loaded keystore entry."""
        return cls(
            private_key=key.private_key,
            public_key=key.public_key,
            algorithm=algorithm,
            strong=strong,
            salt=salt,
        )

    def __repr__(self) -> str:
        return (
            f"RsaEncryptor(bits={self._public.key_size}, algorithm={self._algorithm!r}, "
            f"strong={self._strong}, can_decrypt={self.can_decrypt})"
        )

    @property
    def can_decrypt(self) -> bool:
        """False when only the public key (a certificate) is known."""
        return self._private is not None

    def public_key_openssh(self) -> str:
        """``ssh-rsa AAAA... application``, exactly what Spring's ``GET /key`` returns."""
        blob = self._public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return blob.decode("ascii") + " application"

    def encrypt(self, plaintext: str) -> str:
        """Standard Base64 of ``len || RSA(secret) || AES(text)``."""
        secret = os.urandom(_SECRET)
        wrapped = self._public.encrypt(secret, self._padding)
        aes = AesBytesEncryptor(secret.hex(), self._salt, gcm=self._strong)
        blob = len(wrapped).to_bytes(2, "big") + wrapped + aes.encrypt(encode_text(plaintext))
        return base64.b64encode(blob).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; raises ServerSideDecryptionUnsupported (a certificate) or DecryptionFailed."""
        if self._private is None:
            raise ServerSideDecryptionUnsupported()
        blob = _b64decode(ciphertext)
        if len(blob) < 2:
            raise DecryptionFailed(NOT_THIS_KEY)
        size = int.from_bytes(blob[:2], "big")
        wrapped, body = blob[2 : 2 + size], blob[2 + size :]
        if len(wrapped) != size or not body:
            raise DecryptionFailed(NOT_THIS_KEY)
        try:
            secret = self._private.decrypt(wrapped, self._padding)
        except ValueError:
            raise DecryptionFailed(NOT_THIS_KEY) from None
        aes = AesBytesEncryptor(secret.hex(), self._salt, gcm=self._strong)
        return decode_text(aes.decrypt(body))


def _b64decode(text: str) -> bytes:
    # Java's Base64.getDecoder(): the standard alphabet, no whitespace, '=' padding optional.
    if not text.isascii() or _BASE64.fullmatch(text) is None or len(text.rstrip("=")) % 4 == 1:
        raise DecryptionFailed(NOT_THIS_KEY)
    try:
        return base64.b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed(NOT_THIS_KEY) from None
