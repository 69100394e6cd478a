"""The key ring built from the server's settings: which alias each configured key gets."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config_server.errors import DecryptionFailed, KeyFormatError
from config_server.secret import Secret
from config_server.settings import Settings
from config_server.wiring import build_keyring
from tests.crypto.conftest import SPRING_SYMMETRIC_VECTOR


def pem_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "server.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_symmetric_key_beside_a_pem_keystore_stays_default(tmp_path: Path) -> None:
    """--encrypt-key is {key:default}; a PEM keystore's key beside it is 'rsa' and the default."""
    ring = build_keyring(Settings(repo="-", encrypt_key=Secret("mykey"), encrypt_keystore=pem_file(tmp_path)))
    assert ring is not None and ring.default == "rsa"
    assert ring.decrypt("{key:default}" + SPRING_SYMMETRIC_VECTOR) == "password"
    assert ring.decrypt(ring.encrypt("x")) == "x"  # the RSA key, with no prefix


def test_an_alias_given_twice_is_refused() -> None:
    """A rotation key named like another key is a start-up error, never a silent replacement."""
    with pytest.raises(KeyFormatError, match="given twice"):
        build_keyring(Settings(repo="-", encrypt_key=Secret("a"), encrypt_keys=Secret("Default=b")))


def test_a_single_symmetric_key_ignores_key_names_like_spring() -> None:
    """With only --encrypt-key, {key:anything} decrypts with it (Spring's single-key locator);
    with rotation keys configured, an unknown name is an error."""
    single = build_keyring(Settings(repo="-", encrypt_key=Secret("mykey")))
    assert single is not None
    assert single.decrypt("{key:whatever}" + SPRING_SYMMETRIC_VECTOR) == "password"
    ring = build_keyring(Settings(repo="-", encrypt_key=Secret("mykey"), encrypt_keys=Secret("new=k2")))
    assert ring is not None
    with pytest.raises(DecryptionFailed, match="whatever"):
        ring.decrypt("{key:whatever}" + SPRING_SYMMETRIC_VECTOR)
