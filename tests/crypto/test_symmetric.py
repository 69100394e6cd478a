"""Specification of the shared-secret scheme (reference §5.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_server.crypto import SymmetricEncryptor
from config_server.errors import DecryptionFailed, KeyFormatError
from tests.crypto.conftest import SPRING_SYMMETRIC_VECTOR


def test_decrypts_the_spring_vector() -> None:
    """A value Spring encrypted with encrypt.key=mykey decrypts to 'password'."""
    assert SymmetricEncryptor("mykey").decrypt(SPRING_SYMMETRIC_VECTOR) == "password"


def test_decrypts_the_spring_vector_in_upper_case_hex() -> None:
    """Spring's Hex.decode accepts either case, so do we."""
    assert SymmetricEncryptor("mykey").decrypt(SPRING_SYMMETRIC_VECTOR.upper()) == "password"


def test_output_is_lowercase_hex_of_iv_and_whole_blocks() -> None:
    """Ciphertext is hex(iv16 || AES-CBC blocks), lowercase, fresh IV every time."""
    enc = SymmetricEncryptor("mykey")
    a, b = enc.encrypt("password"), enc.encrypt("password")
    assert a != b
    assert a == a.lower() and len(bytes.fromhex(a)) == 32


@settings(max_examples=25, deadline=None)
@given(st.text())
def test_round_trip_any_text(text: str) -> None:
    """Whatever is encrypted decrypts to the same text (lone surrogates become '?', as in Java)."""
    enc = SymmetricEncryptor("s3cret", salt="0a1b2c3d")
    expected = text.encode("utf-8", "replace").decode("utf-8")
    assert enc.decrypt(enc.encrypt(text)) == expected


def test_salt_changes_the_key() -> None:
    """The same key with another salt cannot decrypt."""
    with pytest.raises(DecryptionFailed):
        SymmetricEncryptor("mykey", salt="cafebabe").decrypt(SPRING_SYMMETRIC_VECTOR)


@pytest.mark.parametrize(
    "ciphertext",
    [
        "",
        "zz",
        "abc",
        "00" * 16,
        SPRING_SYMMETRIC_VECTOR[:-2],
        SPRING_SYMMETRIC_VECTOR[:-2] + ("00" if SPRING_SYMMETRIC_VECTOR[-2:] != "00" else "11"),
        SPRING_SYMMETRIC_VECTOR + " ",
        "é" * 64,
    ],
    ids=["empty", "not-hex", "odd", "iv-only", "truncated", "tampered", "trailing-space", "non-ascii"],
)
def test_bad_ciphertext_fails_cleanly(ciphertext: str) -> None:
    """Damaged or foreign text raises DecryptionFailed with Spring's message, never the value."""
    with pytest.raises(DecryptionFailed) as info:
        SymmetricEncryptor("mykey").decrypt(ciphertext)
    assert info.value.message == "Text not encrypted with this key"


def test_wrong_key_fails() -> None:
    """Another key cannot decrypt (PKCS#7 padding or UTF-8 check rejects it)."""
    with pytest.raises(DecryptionFailed):
        SymmetricEncryptor("not-my-key").decrypt(SPRING_SYMMETRIC_VECTOR)


@pytest.mark.parametrize(
    ("key", "salt"),
    [
        ("", "deadbeef"),
        ("k", ""),
        ("k", "xyz0"),
        ("k", "abc"),
        ("k", "de ad"),
        ("ssh-rsa AAAAB3NzaC1yc2E= app", "deadbeef"),
        ("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----", "deadbeef"),
    ],
    ids=["empty-key", "empty-salt", "non-hex-salt", "odd-salt", "spaced-salt", "ssh-key", "pem"],
)
def test_bad_configuration_raises_key_format_error(key: str, salt: str) -> None:
    """An empty key, a salt that is not hex, or key text that is really a key file is refused."""
    with pytest.raises(KeyFormatError):
        SymmetricEncryptor(key, salt=salt)


def test_repr_hides_the_key() -> None:
    """Neither repr nor str shows the key or the salt."""
    enc = SymmetricEncryptor("hunter2-secret", salt="abad1dea")
    for shown in (repr(enc), str(enc)):
        assert "hunter2" not in shown and "abad1dea" not in shown
