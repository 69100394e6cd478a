"""Specification of the keystore (RSA) scheme (reference §5.5)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from config_server.crypto import RsaEncryptor, load_rsa_keys, split_prefixes
from config_server.errors import DecryptionFailed, KeyFormatError, ServerSideDecryptionUnsupported
from tests.crypto.conftest import SPRING_JKS, SPRING_RSA_VECTOR


@pytest.fixture(scope="module")
def spring_keys() -> dict[str, object]:
    return dict(load_rsa_keys(SPRING_JKS, password="letmein", key_password="changeme"))


def test_decrypts_the_spring_vector(spring_keys: dict) -> None:
    """§13: Spring's ciphertext decrypts to 'foo' with alias mytestkey of its test keystore."""
    body = split_prefixes(SPRING_RSA_VECTOR.removeprefix("{cipher}")).payload
    assert RsaEncryptor.from_key(spring_keys["mytestkey"]).decrypt(body) == "foo"


def test_public_key_is_spring_openssh_form(spring_keys: dict) -> None:
    """/key's body: 'ssh-rsa ' + base64(string 'ssh-rsa', mpint e, mpint n) + ' application'."""
    enc = RsaEncryptor.from_key(spring_keys["mytestkey"])
    kind, blob, comment = enc.public_key_openssh().split(" ")
    raw = base64.b64decode(blob)
    numbers = spring_keys["mytestkey"].public_key.public_numbers()
    e_len = int.from_bytes(raw[11:15], "big")
    n_start = 15 + e_len
    n_len = int.from_bytes(raw[n_start : n_start + 4], "big")
    assert (kind, comment) == ("ssh-rsa", "application")
    assert raw[:11] == b"\x00\x00\x00\x07ssh-rsa"
    assert int.from_bytes(raw[15:n_start], "big") == numbers.e
    # Java's BigInteger.toByteArray(): a leading zero byte because the modulus' top bit is set.
    assert raw[n_start + 4] == 0 and n_len == 257
    assert int.from_bytes(raw[n_start + 4 :], "big") == numbers.n


@pytest.mark.parametrize("algorithm", ["DEFAULT", "OAEP", "oaep"])
@pytest.mark.parametrize("strong", [False, True])
@pytest.mark.parametrize("salt", ["deadbeef", "not hex, used as UTF-8"])
def test_round_trip(rsa_key: rsa.RSAPrivateKey, algorithm: str, strong: bool, salt: str) -> None:
    """Every algorithm x strength x salt combination decrypts what it encrypted."""
    enc = RsaEncryptor(private_key=rsa_key, algorithm=algorithm, strong=strong, salt=salt)
    assert enc.decrypt(enc.encrypt("sécret ✓")) == "sécret ✓"


@pytest.mark.parametrize("strong", [False, True])
def test_blob_layout(rsa_key: rsa.RSAPrivateKey, strong: bool) -> None:
    """Base64(u16 len=256 || RSA block || IV16 || AES body [|| GCM tag16]) for a 2048-bit key."""
    raw = base64.b64decode(RsaEncryptor(private_key=rsa_key, strong=strong).encrypt("foo"))
    assert raw[:2] == b"\x01\x00"
    body = raw[2 + 256 :]
    assert len(body) == (16 + 3 + 16 if strong else 16 + 16)


def test_salt_that_is_hex_of_its_utf8_is_the_same_salt(rsa_key: rsa.RSAPrivateKey) -> None:
    """A non-hex salt means hex(UTF-8 bytes), so 'abc' and '616263' are the same salt."""
    text = RsaEncryptor(private_key=rsa_key, salt="abc").encrypt("x")
    assert RsaEncryptor(private_key=rsa_key, salt="616263").decrypt(text) == "x"


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ({"algorithm": "DEFAULT"}, {"algorithm": "OAEP"}),
        ({"strong": False}, {"strong": True}),
        ({"salt": "deadbeef"}, {"salt": "cafebabe"}),
    ],
    ids=["padding", "strength", "salt"],
)
def test_mismatched_settings_fail(rsa_key: rsa.RSAPrivateKey, writer: dict, reader: dict) -> None:
    """Decrypting with other settings than the writer's raises DecryptionFailed."""
    text = RsaEncryptor(private_key=rsa_key, **writer).encrypt("foo")
    with pytest.raises(DecryptionFailed):
        RsaEncryptor(private_key=rsa_key, **reader).decrypt(text)


def test_other_key_fails(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    """A value encrypted for one key does not decrypt with another."""
    text = RsaEncryptor(private_key=rsa_key).encrypt("foo")
    with pytest.raises(DecryptionFailed):
        RsaEncryptor(private_key=other_rsa_key).decrypt(text)


def _flip(text: str, index: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _with_length(text: str, length: int) -> str:
    raw = base64.b64decode(text)
    return base64.b64encode(length.to_bytes(2, "big") + raw[2:]).decode()


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: _flip(t, 10),  # inside the RSA block
        lambda t: _flip(t, -1),  # last AES byte (CBC padding / GCM tag)
        lambda t: t[:-8],
        lambda t: "AA",
        lambda t: "",
        lambda t: "not base64!",
        lambda t: _with_length(t, 1),
        lambda t: _with_length(t, 0xFFFF),
    ],
    ids=["rsa-bit", "aes-bit", "truncated", "short", "empty", "not-base64", "bad-len", "huge-len"],
)
@pytest.mark.parametrize("strong", [False, True])
def test_tampered_ciphertext_fails(
    rsa_key: rsa.RSAPrivateKey, damage: Callable[[str], str], strong: bool
) -> None:
    """Any damage raises DecryptionFailed with Spring's message."""
    enc = RsaEncryptor(private_key=rsa_key, strong=strong)
    with pytest.raises(DecryptionFailed) as info:
        enc.decrypt(damage(enc.encrypt("foo")))
    assert info.value.message == "Text not encrypted with this key"


def test_public_only_encrypts_but_cannot_decrypt(rsa_key: rsa.RSAPrivateKey) -> None:
    """A certificate-only key encrypts (the owner decrypts) but refuses to decrypt."""
    public = RsaEncryptor(public_key=rsa_key.public_key())
    text = public.encrypt("foo")
    assert not public.can_decrypt
    assert RsaEncryptor(private_key=rsa_key).decrypt(text) == "foo"
    with pytest.raises(ServerSideDecryptionUnsupported, match="Server-side decryption is not supported"):
        public.decrypt(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"algorithm": "PKCS1"},
        {"salt": ""},
    ],
    ids=["no-key", "unknown-algorithm", "empty-salt"],
)
def test_bad_construction(rsa_key: rsa.RSAPrivateKey, kwargs: dict) -> None:
    """Missing keys, unknown algorithms and empty salts are KeyFormatError."""
    if kwargs:
        kwargs = {"private_key": rsa_key, **kwargs}
    with pytest.raises(KeyFormatError):
        RsaEncryptor(**kwargs)


def test_mismatched_pair_is_refused(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    """A public key that does not belong to the private key is KeyFormatError."""
    with pytest.raises(KeyFormatError):
        RsaEncryptor(private_key=rsa_key, public_key=other_rsa_key.public_key())


def test_small_keys_are_refused() -> None:
    """Keys under 1024 bits are KeyFormatError."""
    small = rsa.RSAPublicNumbers(65537, (1 << 511) | 1).public_key()  # cryptography won't generate one
    with pytest.raises(KeyFormatError):
        RsaEncryptor(public_key=small)


def test_repr_hides_key_material(rsa_key: rsa.RSAPrivateKey) -> None:
    """repr/str say bits, algorithm and capability, nothing of the key."""
    enc = RsaEncryptor(private_key=rsa_key, salt="s3cr3t-salt")
    prime_hex = format(rsa_key.private_numbers().p, "x")[:16]
    for shown in (repr(enc), str(enc)):
        assert "2048" in shown and "s3cr3t" not in shown and prime_hex not in shown
        assert "BEGIN" not in shown
