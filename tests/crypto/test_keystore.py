"""Specification of key loading: JKS (our own reader), PKCS#12 and PEM, sniffed from the content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from config_server.crypto import RsaEncryptor, RsaKey, load_rsa_keys, parse_rsa_keys
from config_server.errors import KeyFormatError
from tests.crypto.conftest import SPRING_JKS, self_signed

P = serialization.PrivateFormat
E = serialization.Encoding


def _round_trips(key: RsaKey) -> bool:
    enc = RsaEncryptor.from_key(key)
    return enc.decrypt(enc.encrypt("foo")) == "foo"


# --- JKS ----------------------------------------------------------------------------------------


def test_spring_jks_has_its_three_entries() -> None:
    """Spring's test keystore: two private keys and one certificate-only entry."""
    keys = load_rsa_keys(SPRING_JKS, password="letmein", key_password="changeme")
    assert sorted(keys) == ["myencryptionkey", "mykey", "mytestkey"]
    assert [keys[a].can_decrypt for a in ("mytestkey", "mykey", "myencryptionkey")] == [True, True, False]


def test_key_password_falls_back_to_the_store_password() -> None:
    """'mykey' is protected by the store password (Spring's default key secret), not 'changeme'."""
    keys = load_rsa_keys(SPRING_JKS, password="letmein", key_password="changeme")
    assert _round_trips(keys["mykey"])


def test_certificate_only_entry_encrypts_for_the_matching_private_key() -> None:
    """myencryptionkey's certificate belongs to one of the private keys, which can decrypt it."""
    keys = load_rsa_keys(SPRING_JKS, password="letmein", key_password="changeme")
    text = RsaEncryptor.from_key(keys["myencryptionkey"]).encrypt("foo")
    owners = [
        a
        for a in ("mytestkey", "mykey")
        if keys[a].public_key.public_numbers() == keys["myencryptionkey"].public_key.public_numbers()
    ]
    assert owners
    assert RsaEncryptor.from_key(keys[owners[0]]).decrypt(text) == "foo"


def test_wrong_store_password() -> None:
    """A wrong store password fails the integrity digest: KeyFormatError, password not echoed."""
    with pytest.raises(KeyFormatError) as info:
        load_rsa_keys(SPRING_JKS, password="letmeout", key_password="changeme")
    assert "letmeout" not in info.value.message


def test_unrecoverable_key_names_its_alias() -> None:
    """A key that neither password opens is KeyFormatError naming the alias."""
    data = _spring_jks_bytes()
    with pytest.raises(KeyFormatError, match="mytestkey"):
        parse_rsa_keys(data, password="letmein", key_password="wrong", type="jks")


def _spring_jks_bytes() -> bytes:
    return SPRING_JKS.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-1],
        lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:],
        lambda d: d[:-20],
        lambda d: d[:8],
        lambda d: b"\xce\xce\xce\xce" + d[4:],
    ],
    ids=["short-digest", "flipped-byte", "no-digest", "header-only", "jceks"],
)
def test_damaged_jks_is_refused(damage: Callable[[bytes], bytes]) -> None:
    """Any change to the file fails the digest (or the format check) with KeyFormatError."""
    with pytest.raises(KeyFormatError):
        parse_rsa_keys(damage(_spring_jks_bytes()), password="letmein", key_password="changeme")


def test_jks_needs_a_store_password() -> None:
    """Without a store password the integrity of a JKS cannot be checked: KeyFormatError."""
    with pytest.raises(KeyFormatError):
        parse_rsa_keys(_spring_jks_bytes(), password=None, key_password="changeme")


def test_agrees_with_pyjks(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    """Cross-check: a JKS written by pyjks (independent code) reads back to the same keys."""
    jks = pytest.importorskip("jks")
    der = rsa_key.private_bytes(E.DER, P.PKCS8, serialization.NoEncryption())
    cert = self_signed(other_rsa_key).public_bytes(E.DER)
    entry = jks.PrivateKeyEntry.new("signing", [self_signed(rsa_key).public_bytes(E.DER)], der, "pkcs8")
    entry.encrypt("k3y-pass")
    trusted = jks.TrustedCertEntry.new("partner", cert)
    store = jks.KeyStore.new("jks", [entry, trusted])
    path = tmp_path / "made-by-pyjks.jks"
    store.save(str(path), "st0re-pass")
    keys = load_rsa_keys(path, password="st0re-pass", key_password="k3y-pass")
    assert keys["signing"].private_key is not None
    assert keys["signing"].private_key.private_numbers() == rsa_key.private_numbers()
    assert keys["partner"].private_key is None
    assert keys["partner"].public_key.public_numbers() == other_rsa_key.public_key().public_numbers()


def test_keys_under_their_own_passwords_open_the_chosen_one(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    """A JKS whose keys have different passwords: the chosen alias opens with the key secret,
    the others are read as their certificates (encrypt-only); the chosen one must open."""
    import jks

    entries = []
    for alias, key, secret in (("keya", rsa_key, "pass-a"), ("keyb", other_rsa_key, "pass-b")):
        der = key.private_bytes(E.DER, P.PKCS8, serialization.NoEncryption())
        entry = jks.PrivateKeyEntry.new(alias, [self_signed(key).public_bytes(E.DER)], der, "pkcs8")
        entry.encrypt(secret)
        entries.append(entry)
    path = tmp_path / "two-passwords.jks"
    jks.KeyStore.new("jks", entries).save(str(path), "store-pass")
    keys = load_rsa_keys(path, password="store-pass", key_password="pass-a", alias="keya")
    assert keys["keya"].can_decrypt and _round_trips(keys["keya"])
    assert not keys["keyb"].can_decrypt
    assert keys["keyb"].public_key.public_numbers() == other_rsa_key.public_key().public_numbers()
    with pytest.raises(KeyFormatError, match="keyb"):
        load_rsa_keys(path, password="store-pass", key_password="pass-a", alias="keyb")
    with pytest.raises(KeyFormatError, match="keyb"):  # no alias chosen: every key must open
        load_rsa_keys(path, password="store-pass", key_password="pass-a")


# --- PKCS#12 ------------------------------------------------------------------------------------


def _p12(
    key: rsa.RSAPrivateKey,
    *,
    password: bytes,
    name: bytes | None = b"server",
    trusted: list[pkcs12.PKCS12Certificate] | None = None,
) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        name, key, self_signed(key), trusted, serialization.BestAvailableEncryption(password)
    )


def test_pkcs12_round_trip(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    """The key comes back under its friendly name; named extra certificates are encrypt-only entries."""
    partner = pkcs12.PKCS12Certificate(self_signed(other_rsa_key), b"partner")
    data = _p12(rsa_key, password=b"pw", trusted=[partner])
    keys = parse_rsa_keys(data, password="pw")
    assert sorted(keys) == ["partner", "server"]
    assert _round_trips(keys["server"])
    assert not keys["partner"].can_decrypt


@pytest.mark.parametrize("declared", [None, "pkcs12", "PKCS12", "p12", "jks"])
def test_pkcs12_type_declarations(rsa_key: rsa.RSAPrivateKey, declared: str | None) -> None:
    """PKCS#12 loads when sniffed, declared, or declared as jks (Java 9+ reads both)."""
    assert "server" in parse_rsa_keys(_p12(rsa_key, password=b"pw"), password="pw", type=declared)


def test_pkcs12_without_friendly_name_uses_the_alias(rsa_key: rsa.RSAPrivateKey) -> None:
    """A key without a friendly name is filed under the given alias."""
    keys = parse_rsa_keys(_p12(rsa_key, password=b"pw", name=None), password="pw", alias="legacy")
    assert list(keys) == ["legacy"]


def test_pkcs12_wrong_password(rsa_key: rsa.RSAPrivateKey) -> None:
    """A wrong PKCS#12 password is KeyFormatError."""
    with pytest.raises(KeyFormatError):
        parse_rsa_keys(_p12(rsa_key, password=b"pw"), password="nope")


# --- PEM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [P.TraditionalOpenSSL, P.PKCS8], ids=["pkcs1", "pkcs8"])
def test_pem_private_key_round_trip(rsa_key: rsa.RSAPrivateKey, fmt: P) -> None:
    """PKCS#1 ('RSA PRIVATE KEY') and PKCS#8 ('PRIVATE KEY') PEM load under 'default'."""
    pem = rsa_key.private_bytes(E.PEM, fmt, serialization.NoEncryption())
    keys = parse_rsa_keys(pem, password=None)
    assert list(keys) == ["default"] and _round_trips(keys["default"])


def test_pem_from_file_with_alias_and_certificate(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    """A file holding the key and its certificate yields the private key under the given alias."""
    path = tmp_path / "server.pem"
    path.write_bytes(
        self_signed(rsa_key).public_bytes(E.PEM)
        + rsa_key.private_bytes(E.PEM, P.PKCS8, serialization.NoEncryption())
    )
    keys = load_rsa_keys(path, password="ignored: the key is not encrypted", alias="k1")
    assert list(keys) == ["k1"] and keys["k1"].can_decrypt


@pytest.mark.parametrize("fmt", [P.TraditionalOpenSSL, P.PKCS8], ids=["pkcs1", "pkcs8"])
def test_encrypted_pem(rsa_key: rsa.RSAPrivateKey, fmt: P) -> None:
    """An encrypted PEM key opens with key_password (or the password), and not without it."""
    pem = rsa_key.private_bytes(E.PEM, fmt, serialization.BestAvailableEncryption(b"pem-pw"))
    assert _round_trips(parse_rsa_keys(pem, password=None, key_password="pem-pw")["default"])
    assert _round_trips(parse_rsa_keys(pem, password="pem-pw")["default"])
    for password in (None, "wrong"):
        with pytest.raises(KeyFormatError):
            parse_rsa_keys(pem, password=password)


@pytest.mark.parametrize("kind", ["spki", "pkcs1", "certificate"])
def test_pem_public_only_is_encrypt_only(rsa_key: rsa.RSAPrivateKey, kind: str) -> None:
    """A public key or certificate PEM gives an encrypt-only entry."""
    pem = {
        "spki": lambda: rsa_key.public_key().public_bytes(
            E.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1": lambda: rsa_key.public_key().public_bytes(E.PEM, serialization.PublicFormat.PKCS1),
        "certificate": lambda: self_signed(rsa_key).public_bytes(E.PEM),
    }[kind]()
    key = parse_rsa_keys(pem, password=None)["default"]
    assert not key.can_decrypt
    assert RsaEncryptor(private_key=rsa_key).decrypt(RsaEncryptor.from_key(key).encrypt("x")) == "x"


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"", None),
        (b"hello", None),
        (b"\x30\x03\x02\x01\x00", None),
        (b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", None),
        (b"-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n", None),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "jks"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "bks"),
    ],
    ids=["empty", "text", "bad-der", "no-key-block", "bad-pem", "type-mismatch", "unknown-type"],
)
def test_garbage_is_key_format_error(data: bytes, declared: str | None) -> None:
    """Anything unreadable is KeyFormatError, never a third-party exception."""
    with pytest.raises(KeyFormatError):
        parse_rsa_keys(data, password="pw", type=declared)


def test_non_rsa_keys_are_refused() -> None:
    """An EC key is KeyFormatError: the {cipher} schemes are RSA only."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(E.PEM, P.PKCS8, serialization.NoEncryption())
    with pytest.raises(KeyFormatError, match="RSA"):
        parse_rsa_keys(pem, password=None)


def test_two_private_keys_in_one_pem_are_ambiguous(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    """Two private keys in one PEM file are refused rather than guessed between."""
    pem = b"".join(
        k.private_bytes(E.PEM, P.PKCS8, serialization.NoEncryption()) for k in (rsa_key, other_rsa_key)
    )
    with pytest.raises(KeyFormatError):
        parse_rsa_keys(pem, password=None)


def test_missing_file(tmp_path: Path) -> None:
    """An unreadable path is KeyFormatError naming the path."""
    with pytest.raises(KeyFormatError, match=r"nope\.jks"):
        load_rsa_keys(tmp_path / "nope.jks", password="pw")


def test_key_repr_hides_material(rsa_key: rsa.RSAPrivateKey) -> None:
    """RsaKey's repr gives size and kind only."""
    shown = repr(RsaKey(rsa_key.public_key(), rsa_key))
    assert shown == "RsaKey(2048 bits, private)"
