"""Specification of the key ring: alias dispatch, rotation, prefixes, transit, status, /key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from config_server.crypto import KeyRing, RsaEncryptor, SymmetricEncryptor, load_rsa_keys
from config_server.crypto.keyring import TextEncryptor
from config_server.crypto.rsa import RsaKey
from config_server.errors import (
    CryptoError,
    DecryptionFailed,
    KeyFormatError,
    NoKey,
    NoPublicKey,
    ServerSideDecryptionUnsupported,
    WeakEncryption,
)
from tests.crypto.conftest import SPRING_JKS, SPRING_RSA_VECTOR, SPRING_SYMMETRIC_VECTOR


class InMemoryTransit:
    """A stand-in for Vault transit, only to pin the ring's dispatch (the real one is tested elsewhere)."""

    def __init__(self) -> None:
        self.store: dict[str, tuple[str, str]] = {}

    def encrypt(self, key_name: str, plaintext: str) -> str:
        token = f"vault:v1:{len(self.store)}"
        self.store[token] = (key_name, plaintext)
        return token

    def decrypt(self, key_name: str, ciphertext: str) -> str:
        name, plaintext = self.store.get(ciphertext, ("", ""))
        if name != key_name:
            raise DecryptionFailed("Text not encrypted with this key")
        return plaintext


@pytest.fixture(scope="module")
def spring_ring() -> KeyRing:
    """Spring's test keystore with mytestkey as default and primary, as a plain Spring setup."""
    keys = load_rsa_keys(SPRING_JKS, password="letmein", key_password="changeme")
    encryptors = {alias: RsaEncryptor.from_key(key) for alias, key in keys.items()}
    return KeyRing(keys=encryptors, default="mytestkey", primary="mytestkey")


def test_decrypts_spring_rsa_vector(spring_ring: KeyRing) -> None:
    """The §13 value (with its {key:mytestkey} prefix) decrypts to 'foo'."""
    assert spring_ring.decrypt(SPRING_RSA_VECTOR.removeprefix("{cipher}")) == "foo"


def test_alias_is_case_insensitive_like_java_keystores(spring_ring: KeyRing) -> None:
    """{key:MyTestKey} finds mytestkey, as Java's JKS lookup would."""
    body = SPRING_RSA_VECTOR.removeprefix("{cipher}").replace("mytestkey", "MyTestKey")
    assert spring_ring.decrypt(body) == "foo"


def test_certificate_only_alias_encrypts_but_cannot_decrypt(spring_ring: KeyRing) -> None:
    """{key:myencryptionkey}: encryption works, decryption is refused (Spring answers 400)."""
    text = spring_ring.encrypt("{key:myencryptionkey}foo")
    assert text.startswith("{key:myencryptionkey}")
    with pytest.raises(ServerSideDecryptionUnsupported, match="Server-side decryption is not supported"):
        spring_ring.decrypt(text)


def test_plain_spring_setup_writes_no_prefix(spring_ring: KeyRing) -> None:
    """Primary == default: output is the bare ciphertext, byte-compatible with Spring's /encrypt."""
    text = spring_ring.encrypt("foo")
    assert not text.startswith("{")
    assert spring_ring.decrypt(text) == "foo"


def test_input_prefixes_are_kept_and_request_pairs_dropped(spring_ring: KeyRing) -> None:
    """{key:..}{secret:..} stay in front of the output; {name:..}/{profiles:..} are stripped."""
    text = spring_ring.encrypt("{name:app}{key:mykey}{profiles:dev}{secret:s}foo")
    assert text.startswith("{key:mykey}{secret:s}") and not text.startswith("{key:mykey}{secret:s}{")
    assert spring_ring.decrypt(text) == "foo"


def test_plain_escape_protects_braces(spring_ring: KeyRing) -> None:
    """{plain} lets a plaintext start with a brace group."""
    assert spring_ring.decrypt(spring_ring.encrypt("{plain}{a:b}c")) == "{a:b}c"


def test_unknown_alias_is_named(spring_ring: KeyRing) -> None:
    """An unknown {key:alias} is DecryptionFailed naming the alias (aliases are not secret)."""
    with pytest.raises(DecryptionFailed, match="'nosuchkey'"):
        spring_ring.decrypt("{key:nosuchkey}AQB")
    with pytest.raises(NoKey, match="'nosuchkey'"):
        spring_ring.encrypt("{key:nosuchkey}foo")


# --- a single key (Spring's SingleTextEncryptorLocator): {key:NAME} selects nothing -------------


def _single(encryptor: TextEncryptor) -> KeyRing:
    """A lone key, as a plain ``encrypt.key`` (symmetric or inline PEM) sets it up."""
    return KeyRing(
        keys={"default": encryptor}, default="default", primary="default", single_key_ignores_names=True
    )


def _single_keys(rsa_key: rsa.RSAPrivateKey) -> list[TextEncryptor]:
    return [SymmetricEncryptor("mykey"), RsaEncryptor.from_key(RsaKey(rsa_key.public_key(), rsa_key))]


def test_single_key_encrypts_a_named_text_keeping_the_name(rsa_key: rsa.RSAPrivateKey) -> None:
    """EncryptionControllerTests#prefixStrippedBeforeEncrypt: {key:test}foo is {key:test} + the
    bare ciphertext of foo (the prefix is stripped before encrypting), symmetric or RSA."""
    for encryptor in _single_keys(rsa_key):
        out = _single(encryptor).encrypt("{key:test}foo")
        assert out.startswith("{key:test}")
        assert encryptor.decrypt(out.removeprefix("{key:test}")) == "foo"


def test_single_key_round_trips_a_named_text(rsa_key: rsa.RSAPrivateKey) -> None:
    """EncryptionControllerTests#formDataInWithPrefix: what /encrypt gives for {key:test}foo bar
    decrypts to foo bar."""
    for encryptor in _single_keys(rsa_key):
        ring = _single(encryptor)
        assert ring.decrypt(ring.encrypt("{key:test}foo bar")) == "foo bar"


def test_single_key_keeps_secret_and_drops_request_pairs() -> None:
    """EncryptionControllerTests#addEnvironment: {key:..} and {secret:..} stay in front, {name:..} never."""
    ring = _single(SymmetricEncryptor("mykey"))
    out = ring.encrypt("{name:app}{key:value}{secret:s}foo bar")
    assert out.startswith("{key:value}{secret:s}") and "{name:" not in out
    assert ring.decrypt(out) == "foo bar"


@pytest.mark.parametrize("plain", ["textwith}brace", "{flag}x", "a{b}c"])
def test_single_key_round_trips_braces_in_the_text(plain: str) -> None:
    """EncryptionControllerTests#encryptDecryptTextWithCurlyBrace: braces that are no prefix are text."""
    ring = _single(SymmetricEncryptor("mykey"))
    assert ring.decrypt(ring.encrypt(plain)) == plain


def test_several_keys_still_refuse_an_unknown_name() -> None:
    """With rotation keys a name must exist: the ring never guesses among several keys."""
    ring = KeyRing(
        keys={"default": SymmetricEncryptor("a"), "k2": SymmetricEncryptor("b")},
        default="default",
        primary="default",
        single_key_ignores_names=True,
    )
    with pytest.raises(NoKey, match="'test'"):
        ring.encrypt("{key:test}foo")


def test_rotation_old_values_still_decrypt_and_new_ones_name_the_primary() -> None:
    """After a new primary is added, old prefix-less values decrypt with the default key."""
    old = SymmetricEncryptor("mykey")
    ring = KeyRing(keys={"legacy": old, "k2": SymmetricEncryptor("newer")}, default="legacy", primary="k2")
    assert ring.decrypt(SPRING_SYMMETRIC_VECTOR) == "password"
    new = ring.encrypt("password")
    assert new.startswith("{key:k2}")
    assert ring.decrypt(new) == "password"
    with pytest.raises(DecryptionFailed):
        old.decrypt(new.removeprefix("{key:k2}"))


def test_reencrypt_moves_to_primary_keeping_other_prefixes() -> None:
    """reencrypt decrypts with whatever key, encrypts with the primary; {secret} goes, others stay."""
    ring = KeyRing(
        keys={"k1": SymmetricEncryptor("one"), "k2": SymmetricEncryptor("two")}, default="k1", primary="k2"
    )
    old = "{key:k1}{secret:s}{team:x}" + SymmetricEncryptor("one").encrypt("v")
    moved = ring.reencrypt(old)
    assert moved.startswith("{key:k2}{team:x}")
    assert ring.key_alias(moved) == "k2"
    assert ring.decrypt(moved) == "v"


def test_reencrypt_with_default_as_primary_writes_bare_ciphertext() -> None:
    """Moving a prefixed value to a primary that is the default drops the prefix."""
    ring = KeyRing(
        keys={"k1": SymmetricEncryptor("one"), "k2": SymmetricEncryptor("two")}, default="k2", primary="k2"
    )
    moved = ring.reencrypt("{key:k1}" + SymmetricEncryptor("one").encrypt("v"))
    assert not moved.startswith("{") and ring.decrypt(moved) == "v"


def test_transit_dispatch() -> None:
    """{key:transit:NAME} goes to the transit cipher with key NAME, both ways, canonical form kept."""
    transit = InMemoryTransit()
    ring = KeyRing(keys={"k1": SymmetricEncryptor("one")}, default="k1", primary="k1", transit=transit)
    text = ring.encrypt("{key:transit:orders}s3cret")
    assert text.startswith("{key:transit:orders}vault:v1:")
    assert ring.decrypt(text) == "s3cret"
    assert transit.store[text.removeprefix("{key:transit:orders}")] == ("orders", "s3cret")
    with pytest.raises(DecryptionFailed):
        ring.decrypt(text.replace("transit:orders", "transit:billing"))


def test_transit_as_primary_and_rotation_onto_it() -> None:
    """A transit key can be the primary: new values and re-encrypted ones go to Vault."""
    ring = KeyRing(
        keys={"k1": SymmetricEncryptor("one")},
        default="k1",
        primary="transit:orders",
        transit=InMemoryTransit(),
    )
    moved = ring.reencrypt(SymmetricEncryptor("one").encrypt("v"))
    assert moved.startswith("{key:transit:orders}vault:v1:") and ring.decrypt(moved) == "v"


def test_transit_alias_without_engine() -> None:
    """{key:transit:x} with no transit engine configured fails cleanly."""
    ring = KeyRing(keys={"k1": SymmetricEncryptor("one")}, default="k1", primary="k1")
    with pytest.raises(DecryptionFailed):
        ring.decrypt("{key:transit:x}vault:v1:abc")
    with pytest.raises(NoKey):
        ring.encrypt("{key:transit:x}abc")


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.encrypt("x"),
        lambda r: r.decrypt("abcd"),
        lambda r: r.reencrypt("abcd"),
        lambda r: r.status(),
        lambda r: r.public_key(),
    ],
    ids=["encrypt", "decrypt", "reencrypt", "status", "public_key"],
)
def test_empty_ring_raises_no_key(call: Callable[[KeyRing], object]) -> None:
    """With no key at all every operation is NoKey (404 'No key was installed...')."""
    with pytest.raises(NoKey):
        call(KeyRing(keys={}, default=None, primary=None))


def test_no_default_means_values_must_name_their_key() -> None:
    """Without a default, a value without {key:...} cannot be decrypted."""
    ring = KeyRing(keys={"k1": SymmetricEncryptor("one")}, default=None, primary="k1")
    text = ring.encrypt("v")
    assert text.startswith("{key:k1}") and ring.decrypt(text) == "v"
    with pytest.raises(DecryptionFailed, match="default"):
        ring.decrypt(text.removeprefix("{key:k1}"))


@pytest.mark.parametrize(
    ("keys", "default", "primary"),
    [
        ({"k1": "sym"}, "missing", None),
        ({"k1": "sym"}, "k1", "missing"),
        ({"K1": "sym", "k1": "sym"}, None, None),
        ({"transit:x": "sym"}, None, None),
        ({"": "sym"}, None, None),
        ({"k1": "sym"}, "transit:x", None),
    ],
    ids=["unknown-default", "unknown-primary", "case-duplicate", "reserved", "empty", "transit-no-engine"],
)
def test_bad_ring_configuration(keys: dict[str, str], default: str | None, primary: str | None) -> None:
    """Roles naming absent keys, duplicate or reserved aliases: KeyFormatError."""
    encryptors = {alias: SymmetricEncryptor("one") for alias in keys}
    with pytest.raises(KeyFormatError):
        KeyRing(keys=encryptors, default=default, primary=primary)


def test_status(spring_ring: KeyRing) -> None:
    """status() lists the aliases and roles, for operators."""
    status = spring_ring.status()
    assert status.aliases == ("myencryptionkey", "mykey", "mytestkey")
    assert (status.default, status.primary, status.transit) == ("mytestkey", "mytestkey", False)


def test_public_key_defaults_to_the_default_key(spring_ring: KeyRing) -> None:
    """/key serves the key that decrypts prefix-less values; an alias picks another."""
    ours = spring_ring.public_key()
    assert ours.startswith("ssh-rsa AAAA") and ours.endswith(" application")
    assert spring_ring.public_key("mykey") != ours


def test_public_key_of_a_symmetric_key_is_not_available(rsa_key: rsa.RSAPrivateKey) -> None:
    """/key with a symmetric default, or an unknown alias: NoPublicKey('No public key available')."""
    ring = KeyRing(
        keys={"sym": SymmetricEncryptor("one"), "r": RsaEncryptor(private_key=rsa_key)},
        default="sym",
        primary="r",
    )
    for alias in (None, "nosuch"):
        with pytest.raises(NoPublicKey, match="No public key available"):
            ring.public_key(alias)
    assert ring.public_key("R").startswith("ssh-rsa ")


def test_public_key_of_an_empty_ring_is_not_available() -> None:
    """/key with no key at all: NoPublicKey, as Spring answers NOT_FOUND rather than NO_KEY."""
    with pytest.raises(NoPublicKey):
        KeyRing(keys={}, default=None, primary=None).public_key()


class Identity:
    """A no-op encryptor, as Spring's bootstrap default without a key."""

    can_decrypt = True

    def encrypt(self, plaintext: str) -> str:
        return plaintext

    def decrypt(self, ciphertext: str) -> str:
        return ciphertext


def test_encryptor_that_returns_its_input_is_weak_encryption() -> None:
    """Encryption that gives back the text unchanged raises WeakEncryption (Spring's 'not strong enough')."""
    ring = KeyRing(keys={"noop": Identity()}, default="noop", primary="noop")
    with pytest.raises(WeakEncryption, match="not strong enough"):
        ring.encrypt("plain")


def test_repr_shows_names_not_secrets() -> None:
    """The ring's repr lists aliases and roles only."""
    ring = KeyRing(keys={"k1": SymmetricEncryptor("hunter2")}, default="k1", primary="k1")
    assert "hunter2" not in repr(ring) and "k1" in repr(ring)


def test_errors_are_crypto_errors(spring_ring: KeyRing) -> None:
    """Everything the ring raises for bad input is a CryptoError (the HTTP layer maps them)."""
    for bad in ("", "{key:mytestkey}", "{key:}x", "%%%"):
        with pytest.raises(CryptoError):
            spring_ring.decrypt(bad)
