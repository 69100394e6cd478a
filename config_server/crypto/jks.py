"""A small reader for Java ``JKS`` keystores (the ``keytool`` default before Java 9).

Layout (all integers big-endian)::

    u4 magic 0xFEEDFEED | u4 version (1 or 2) | u4 count | entries... | 20-byte SHA-1 digest
    entry  = u4 tag | UTF alias | u8 timestamp | body
    tag 1  (private key): u4 len, EncryptedPrivateKeyInfo DER | u4 chain length | certs
    tag 2  (trusted cert): cert
    cert   = [v2: UTF type, e.g. "X.509"] | u4 len | DER

The digest is SHA-1(password as UTF-16BE || b"Mighty Aphrodite" || everything before it). Private
keys are protected by Sun's ``KeyProtector`` (OID 1.3.6.1.4.1.42.2.17.1.1): the encrypted data is
``salt20 || key XOR keystream || check20`` where the keystream is the chain
``d1 = SHA-1(pw || salt), d2 = SHA-1(pw || d1), ...`` and ``check = SHA-1(pw || plain key)``; the
plain key is a PKCS#8 ``PrivateKeyInfo``. Pure: bytes in, keys out.

Aliases come back as stored (keytool stores them lower-cased). Only RSA entries are accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from config_server.crypto.rsa import RsaKey
from config_server.errors import KeyFormatError

__all__ = ["JCEKS_MAGIC", "JCEKS_UNSUPPORTED", "JKS_MAGIC", "read_jks"]

JKS_MAGIC = b"\xfe\xed\xfe\xed"
JCEKS_MAGIC = b"\xce\xce\xce\xce"
JCEKS_UNSUPPORTED = "JCEKS keystores are not supported; convert to PKCS12 (keytool -importkeystore)"
_WHITENER = b"Mighty Aphrodite"
_KEY_PROTECTOR_OID = b"\x06\x0a\x2b\x06\x01\x04\x01\x2a\x02\x11\x01\x01"  # DER of 1.3.6.1.4.1.42.2.17.1.1
_PRIVATE_KEY, _TRUSTED_CERT = 1, 2
_DIGEST = 20


def read_jks(
    data: bytes, password: str, key_passwords: Sequence[str], *, required: str | None = None
) -> dict[str, RsaKey]:
    """Every entry of a JKS keystore, by alias; raises KeyFormatError on any problem.

    The store digest is checked first, so a wrong store password and a damaged file both fail
    before anything is parsed. Each private key is recovered with the first of
    ``key_passwords`` that opens it (Spring's key password defaults to the store password).
    A key none of them opens is an error naming its alias if it is the ``required`` alias (or
    when none is required); another alias's key, kept under a password of its own, is read as
    its certificate only (it can encrypt, not decrypt).
    """
    if data[:4] == JCEKS_MAGIC:
        raise KeyFormatError(JCEKS_UNSUPPORTED)
    if len(data) < 12 + _DIGEST or data[:4] != JKS_MAGIC:
        raise KeyFormatError("Not a JKS keystore")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    expected = hashlib.sha1(_utf16(password) + _WHITENER + body).digest()
    if not hmac.compare_digest(expected, digest):
        raise KeyFormatError("Keystore was tampered with, or password was incorrect")
    reader = _Reader(body)
    reader.take(4)
    version = reader.u4()
    if version not in (1, 2):
        raise KeyFormatError(f"Unsupported JKS version {version}")
    entries: dict[str, RsaKey] = {}
    for _ in range(reader.u4()):
        tag = reader.u4()
        alias = reader.utf()
        reader.take(8)  # creation timestamp
        if tag == _PRIVATE_KEY:
            protected = reader.take(reader.u4())
            chain = [reader.cert(version) for _ in range(reader.u4())]
            try:
                entries[alias] = _private_entry(alias, protected, key_passwords)
            except KeyFormatError:
                if required is None or alias.casefold() == required.casefold() or not chain:
                    raise
                entries[alias] = RsaKey(public_key=_rsa_public(alias, chain[0]))
        elif tag == _TRUSTED_CERT:
            entries[alias] = RsaKey(public_key=_rsa_public(alias, reader.cert(version)))
        else:
            raise KeyFormatError(f"Unsupported JKS entry type {tag} for alias '{alias}'")
    if reader.remaining:
        raise KeyFormatError("Trailing data in JKS keystore")
    return entries


def _utf16(password: str) -> bytes:
    # Java hands the password over as chars; each char is two big-endian bytes.
    return password.encode("utf-16-be", errors="surrogatepass")


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise KeyFormatError("Truncated JKS keystore")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u4(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def utf(self) -> str:
        raw = self.take(struct.unpack(">H", self.take(2))[0])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyFormatError("Unreadable alias in JKS keystore") from None

    def cert(self, version: int) -> bytes:
        if version == 2:
            kind = self.utf()
            if kind != "X.509":
                raise KeyFormatError(f"Unsupported certificate type {kind!r} in JKS keystore")
        return self.take(self.u4())


def _private_entry(alias: str, protected: bytes, passwords: Sequence[str]) -> RsaKey:
    encrypted = _unwrap_encrypted_private_key_info(alias, protected)
    for password in passwords:
        plain = _recover(encrypted, _utf16(password))
        if plain is not None:
            try:
                key = load_der_private_key(plain, password=None)
            except (ValueError, TypeError) as exc:
                raise KeyFormatError(f"Unreadable private key for alias '{alias}'") from exc
            if not isinstance(key, RSAPrivateKey):
                raise KeyFormatError(f"Key '{alias}' is not an RSA key")
            return RsaKey(public_key=key.public_key(), private_key=key)
    raise KeyFormatError(f"Cannot recover key '{alias}': wrong key password")


def _recover(encrypted: bytes, password: bytes) -> bytes | None:
    if len(encrypted) < 2 * _DIGEST:
        raise KeyFormatError("Truncated protected key in JKS keystore")
    salt, body, check = encrypted[:_DIGEST], encrypted[_DIGEST:-_DIGEST], encrypted[-_DIGEST:]
    stream = bytearray()
    digest = salt
    while len(stream) < len(body):
        digest = hashlib.sha1(password + digest).digest()
        stream += digest
    n = len(body)
    plain = (int.from_bytes(body, "big") ^ int.from_bytes(stream[:n], "big")).to_bytes(n, "big")
    if not hmac.compare_digest(hashlib.sha1(password + plain).digest(), check):
        return None
    return plain


def _unwrap_encrypted_private_key_info(alias: str, der: bytes) -> bytes:
    # EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier SEQUENCE { OID, params }, OCTET STRING }
    try:
        outer, rest = _der(der, 0x30)
        algorithm, data = _der(outer, 0x30)
        encrypted, tail = _der(data, 0x04)
    except ValueError:
        raise KeyFormatError(f"Malformed protected key for alias '{alias}'") from None
    if rest or tail or not algorithm.startswith(_KEY_PROTECTOR_OID):
        raise KeyFormatError(f"Key '{alias}' is not protected with the JKS key protector")
    return encrypted


def _der(data: bytes, tag: int) -> tuple[bytes, bytes]:
    """The contents of the leading DER element (which must carry ``tag``) and what follows it."""
    if len(data) < 2 or data[0] != tag:
        raise ValueError("unexpected DER tag")
    length, pos = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise ValueError("bad DER length")
        length, pos = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if pos + length > len(data):
        raise ValueError("truncated DER element")
    return data[pos : pos + length], data[pos + length :]


def _rsa_public(alias: str, der: bytes) -> RSAPublicKey:
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError as exc:
        raise KeyFormatError(f"Unreadable certificate for alias '{alias}'") from exc
    if not isinstance(key, RSAPublicKey):
        raise KeyFormatError(f"Certificate '{alias}' does not hold an RSA key")
    return key
