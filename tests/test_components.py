"""The composition root: the key ring built from the server's settings, and a start-up that fails halfway."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config_server.components import build_keyring, install
from config_server.errors import DecryptionFailed, KeyFormatError
from config_server.secret import Secret
from config_server.settings import Settings
from tests.crypto.conftest import SPRING_JKS, SPRING_RSA_VECTOR, SPRING_SYMMETRIC_VECTOR
from tests.support.gitrepo import GitRemote
from tests.support.lifecycle import assert_failed_start_leaves_nothing_running


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


@pytest.mark.parametrize(
    "broken",
    [
        {"encrypt_key": Secret("k"), "encrypt_primary": "nosuch"},  # the key ring, after git and Vault
        {"overrides_file": Path("/nonexistent/overrides.yml")},  # the service, after the key ring
    ],
    ids=["key-ring", "service"],
)
def test_a_start_up_that_fails_halfway_leaves_nothing_running(
    git_remote: GitRemote, tmp_path: Path, broken: dict[str, object]
) -> None:
    """The resources opened before the failing one are closed: no thread and no task is left."""
    git_remote.write({"application.yml": "a: 1\n"})
    settings = Settings(repo=git_remote.uri, basedir=tmp_path / "clone", port=0, **broken)  # type: ignore[arg-type]
    assert_failed_start_leaves_nothing_running(settings)


def test_the_resources_are_opened_in_dependency_order_and_closed_in_reverse(
    git_remote: GitRemote, tmp_path: Path
) -> None:
    """install() registers a cleanup context per resource: the loop monitor, audit, gate, git, Vault,
    keys, service, live, peers."""
    from aiohttp import web

    app = web.Application()
    install(app, Settings(repo=git_remote.uri, basedir=tmp_path / "clone"))
    names = [ctx.__name__ for ctx in app.cleanup_ctx]
    assert names == ["_loop", "_audit", "_gate", "_git", "_vault", "_keyring", "_service", "_live", "_peers"]


@pytest.mark.parametrize("alias", ["MyTestKey", "MYTESTKEY", "mytestkey"])
def test_keystore_alias_is_found_in_any_case(alias: str) -> None:
    """--encrypt-key-alias matches the JKS entry in any case, as Java's KeyStore lookup does
    (JKS stores aliases lower-cased); Spring's §13 value decrypts with it."""
    ring = build_keyring(
        Settings(
            repo="-",
            encrypt_keystore=SPRING_JKS,
            encrypt_keystore_password=Secret("letmein"),
            encrypt_key_secret=Secret("changeme"),
            encrypt_key_alias=alias,
        )
    )
    assert ring is not None and ring.default == "mytestkey" and ring.primary == "mytestkey"
    assert ring.decrypt(SPRING_RSA_VECTOR.removeprefix("{cipher}")) == "foo"


def test_primary_alias_is_found_in_any_case() -> None:
    """--encrypt-primary names a rotation key in any case, like every other alias."""
    ring = build_keyring(
        Settings(
            repo="-", encrypt_key=Secret("mykey"), encrypt_keys=Secret("next=k2"), encrypt_primary="NEXT"
        )
    )
    assert ring is not None and ring.primary == "next"


def test_an_alias_missing_in_any_case_is_still_refused() -> None:
    """An alias that is not in the keystore at all stops the start-up, naming it."""
    with pytest.raises(KeyFormatError, match="'nosuch'"):
        build_keyring(
            Settings(
                repo="-",
                encrypt_keystore=SPRING_JKS,
                encrypt_keystore_password=Secret("letmein"),
                encrypt_key_secret=Secret("changeme"),
                encrypt_key_alias="nosuch",
            )
        )


@pytest.mark.parametrize("pem", [False, True], ids=["symmetric", "inline-pem"])
def test_a_single_key_encrypts_a_named_text(tmp_path: Path, pem: bool) -> None:
    """EncryptionControllerTests#formDataInWithPrefix through the real key ring: a lone
    --encrypt-key (symmetric or an inline PEM pair) encrypts {key:test}foo as {key:test}..."""
    key = pem_file(tmp_path).read_text() if pem else "mykey"
    ring = build_keyring(Settings(repo="-", encrypt_key=Secret(key)))
    assert ring is not None
    out = ring.encrypt("{key:test}foo")
    assert out.startswith("{key:test}") and ring.decrypt(out) == "foo"
