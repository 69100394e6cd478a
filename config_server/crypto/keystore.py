"""Loading RSA keys from PEM files, PKCS#12 and JKS keystores (reference §5.5).

``parse_rsa_keys`` is pure (bytes in, keys out); ``load_rsa_keys`` adds the one file read.
The format is sniffed from the content: JKS by its magic number, PEM by its ``-----BEGIN``
armour, anything else DER is tried as PKCS#12. Every failure, including one raised inside
``cryptography``, surfaces as KeyFormatError with a short message that names no password.

Limits: ``cryptography`` reads one private key per PKCS#12 file (plus any number of
certificate-only entries) and opens it with the store password, which is also what keytool
requires of PKCS#12 stores. JCEKS stores are refused with a hint to convert them.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import pkcs12

from config_server.crypto.jks import JCEKS_MAGIC, JCEKS_UNSUPPORTED, JKS_MAGIC, read_jks
from config_server.crypto.rsa import RsaKey
from config_server.errors import KeyFormatError

__all__ = ["DEFAULT_ALIAS", "load_rsa_keys", "parse_rsa_keys", "sniff_keystore_type"]

DEFAULT_ALIAS = "default"
_TYPES = {"jks": "jks", "pkcs12": "pkcs12", "p12": "pkcs12", "pfx": "pkcs12", "pem": "pem"}
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_PRIVATE = {b"RSA PRIVATE KEY", b"PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}
_PUBLIC = {b"PUBLIC KEY", b"RSA PUBLIC KEY"}
_MAX_BYTES = 1 << 20  # keystores are a few KiB; refuse to read anything absurd into memory


def load_rsa_keys(
    path: Path,
    *,
    password: str | None,
    key_password: str | None = None,
    type: str | None = None,  # shadows the builtin on purpose: the setting is key-store.type
    alias: str | None = None,
) -> dict[str, RsaKey]:
    """Read ``path`` and return its RSA keys by alias (see :func:`parse_rsa_keys`)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise KeyFormatError(f"Cannot read key file {path}: {exc.strerror or exc}") from exc
    if len(data) > _MAX_BYTES:
        raise KeyFormatError(f"Key file {path} is too large to be a keystore")
    return parse_rsa_keys(data, password=password, key_password=key_password, type=type, alias=alias)


def parse_rsa_keys(
    data: bytes,
    *,
    password: str | None,
    key_password: str | None = None,
    type: str | None = None,
    alias: str | None = None,
) -> dict[str, RsaKey]:
    """The RSA keys in a PEM, PKCS#12 or JKS blob, by alias.

    ``type`` (``jks``, ``pkcs12``/``p12``, ``pem``; any case) must agree with the content when
    given, except that ``jks`` also accepts PKCS#12, as Java does since version 9.
    JKS: every entry; private keys are opened with ``key_password``, then the store password.
    PKCS#12: the private key under its friendly name, and certificate-only entries.
    PEM: one entry named ``alias`` (default ``"default"``): the private key if the file holds
    one (opened with ``key_password`` or else ``password`` when encrypted), else the public key
    or certificate (encrypt-only). Raises KeyFormatError.
    """
    found = sniff_keystore_type(data)
    if type is not None:
        wanted = _TYPES.get(type.lower())
        if wanted is None:
            raise KeyFormatError(f"Unknown keystore type {type!r}; expected jks, pkcs12 or pem")
        if wanted != found and not (wanted == "jks" and found == "pkcs12"):
            raise KeyFormatError(f"Key data is not a {wanted.upper()} keystore")
    if found == "jks":
        if password is None:
            raise KeyFormatError("A JKS keystore needs its store password")
        candidates = [p for p in (key_password, password) if p is not None]
        return read_jks(data, password, list(dict.fromkeys(candidates)), required=alias)
    if found == "pkcs12":
        return _read_pkcs12(data, password, alias or DEFAULT_ALIAS)
    return {alias or DEFAULT_ALIAS: _read_pem(data, key_password if key_password is not None else password)}


def sniff_keystore_type(data: bytes) -> str:
    """``"jks"``, ``"pem"`` or ``"pkcs12"`` from the content; KeyFormatError for anything else."""
    if data[:4] == JKS_MAGIC:
        return "jks"
    if data[:4] == JCEKS_MAGIC:
        raise KeyFormatError(JCEKS_UNSUPPORTED)
    if b"-----BEGIN " in data:
        return "pem"
    if data[:1] == b"\x30":
        return "pkcs12"
    raise KeyFormatError("Key data not in correct format (PEM, PKCS12 or JKS keystore)")


def _read_pkcs12(data: bytes, password: str | None, fallback_alias: str) -> dict[str, RsaKey]:
    try:
        store = pkcs12.load_pkcs12(data, None if password is None else password.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("Cannot open PKCS12 keystore: wrong password or damaged file") from exc
    keys: dict[str, RsaKey] = {}
    key = store.key
    if key is not None:
        if not isinstance(key, RSAPrivateKey):
            raise KeyFormatError("The PKCS12 private key is not an RSA key")
        name = store.cert.friendly_name if store.cert is not None else None
        keys[name.decode("utf-8", "replace") if name else fallback_alias] = RsaKey(key.public_key(), key)
    for extra in store.additional_certs:
        # Certificates without a friendly name are CA links of the key's chain, not entries.
        if extra.friendly_name:
            public = extra.certificate.public_key()
            if not isinstance(public, RSAPublicKey):
                raise KeyFormatError("A PKCS12 certificate does not hold an RSA key")
            keys.setdefault(extra.friendly_name.decode("utf-8", "replace"), RsaKey(public))
    if not keys:
        raise KeyFormatError("The PKCS12 keystore holds no keys")
    return keys


def _read_pem(data: bytes, password: str | None) -> RsaKey:
    blocks = [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(data)]
    private = [b for kind, b in blocks if kind in _PRIVATE]
    if len(private) > 1:
        raise KeyFormatError("The PEM data holds more than one private key")
    if private:
        block = private[0]
        encrypted = block.startswith(b"-----BEGIN ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in block
        if encrypted and password is None:
            raise KeyFormatError("The PEM private key is encrypted and no password was given")
        try:
            key = serialization.load_pem_private_key(
                block, password=password.encode("utf-8") if encrypted and password is not None else None
            )
        except (ValueError, TypeError) as exc:
            raise KeyFormatError("Cannot read the PEM private key (wrong password or damaged data)") from exc
        if not isinstance(key, RSAPrivateKey):
            raise KeyFormatError("The PEM private key is not an RSA key")
        return RsaKey(key.public_key(), key)
    for kind, block in blocks:
        try:
            if kind in _PUBLIC:
                public = serialization.load_pem_public_key(block)
            elif kind == b"CERTIFICATE":
                public = x509.load_pem_x509_certificate(block).public_key()
            else:
                continue
        except ValueError as exc:
            raise KeyFormatError("Cannot read the PEM public key or certificate") from exc
        if not isinstance(public, RSAPublicKey):
            raise KeyFormatError("The PEM key is not an RSA key")
        return RsaKey(public)
    raise KeyFormatError("The PEM data holds no RSA key")
