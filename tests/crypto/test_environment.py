"""Specification of ``{cipher}`` decryption in property sources (reference §5.3)."""

from __future__ import annotations

import pytest
from config_client.wire import PropertySource, PropertyValue

from config_server.crypto import KeyRing, SymmetricEncryptor, decrypt_sources
from config_server.errors import Unavailable
from tests.crypto.conftest import SPRING_SYMMETRIC_VECTOR

GOOD = "{cipher}" + SPRING_SYMMETRIC_VECTOR
BAD = "{cipher}" + "00" * 32


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(keys={"default": SymmetricEncryptor("mykey")}, default="default", primary="default")


def _source(**values: PropertyValue) -> PropertySource:
    return PropertySource("git:repo/application.yml", values)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"a": "1", "p": GOOD, "z": "2"}, {"a": "1", "z": "2", "p": "password"}),
        ({"a": "1", "p": BAD, "z": "2"}, {"a": "1", "z": "2", "invalid.p": "<n/a>"}),
        ({"p": BAD, "q": GOOD, "r": "x"}, {"r": "x", "invalid.p": "<n/a>", "q": "password"}),
        ({"invalid.p": "old", "p": BAD, "z": "2"}, {"invalid.p": "<n/a>", "z": "2"}),
        ({"p": "{cipher}", "z": "2"}, {"z": "2", "invalid.p": "<n/a>"}),
        ({"p": "not {cipher}" + SPRING_SYMMETRIC_VECTOR}, {"p": "not {cipher}" + SPRING_SYMMETRIC_VECTOR}),
        ({"p": "{CIPHER}x"}, {"p": "{CIPHER}x"}),
        ({"p": "{cipher}{key:nosuch}abcd"}, {"invalid.p": "<n/a>"}),
        ({"p": "{cipher}{key:default}" + SPRING_SYMMETRIC_VECTOR}, {"p": "password"}),
    ],
    ids=[
        "success-moves-to-end",
        "failure-invalid-at-end",
        "order-of-processing",
        "existing-invalid-key-keeps-position",
        "empty-ciphertext",
        "cipher-not-at-start",
        "case-sensitive-marker",
        "unknown-alias",
        "explicit-alias",
    ],
)
def test_decrypt_table(ring: KeyRing, given: dict[str, str], expected: dict[str, str]) -> None:
    """Spring's remove-then-put rules: decrypted or invalid.<key> entries go to the end, in order."""
    (out,) = decrypt_sources([PropertySource.of("s", given)], ring)
    assert list(out.source.items()) == [(k, PropertyValue(v)) for k, v in expected.items()]


def test_origin_dropped_and_non_cipher_untouched(ring: KeyRing) -> None:
    """A decrypted value loses its origin; other values keep theirs and their types."""
    src = _source(
        port=PropertyValue(8080, "3:7"), p=PropertyValue(GOOD, "4:4"), on=PropertyValue(True, "5:5")
    )
    (out,) = decrypt_sources([src], ring)
    assert out.name == src.name
    assert out.source == {
        "port": PropertyValue(8080, "3:7"),
        "on": PropertyValue(True, "5:5"),
        "p": PropertyValue("password"),
    }


def test_source_without_cipher_is_returned_as_is(ring: KeyRing) -> None:
    """No {cipher} value: the very same source object comes back."""
    src = PropertySource.of("s", {"a": "1"})
    assert decrypt_sources([src], ring)[0] is src


def test_no_key_configured_every_cipher_value_fails() -> None:
    """ring None: each {cipher} value becomes invalid.<key>, each reported, values never passed on."""
    failures: list[tuple[str, str, str | None]] = []
    sources = [
        PropertySource.of("one", {"p": GOOD, "a": "1"}),
        PropertySource.of("two", {"q": "{cipher}{key:k9}x"}),
    ]
    out = decrypt_sources(sources, None, on_failure=lambda *args: failures.append(args))
    assert [s.values() for s in out] == [{"a": "1", "invalid.p": "<n/a>"}, {"invalid.q": "<n/a>"}]
    assert failures == [("one", "p", None), ("two", "q", "k9")]


def test_on_failure_gets_source_key_and_alias(ring: KeyRing) -> None:
    """The callback names source, property and the alias tried; successes are not reported."""
    failures: list[tuple[str, str, str | None]] = []
    src = PropertySource.of("s", {"ok": GOOD, "bad": BAD, "other": "{cipher}{key:nosuch}x"})
    decrypt_sources([src], ring, on_failure=lambda *args: failures.append(args))
    assert failures == [("s", "bad", "default"), ("s", "other", "nosuch")]
    assert all(SPRING_SYMMETRIC_VECTOR not in str(f) for f in failures)


def test_several_sources_keep_their_order(ring: KeyRing) -> None:
    """Sources are processed independently and returned in the same order."""
    sources = [PropertySource.of(n, {"p": GOOD}) for n in ("a", "b", "c")]
    assert [s.name for s in decrypt_sources(sources, ring)] == ["a", "b", "c"]


class _DownTransit:
    def encrypt(self, key_name: str, plaintext: str) -> str:
        raise Unavailable("Vault is sealed")

    def decrypt(self, key_name: str, ciphertext: str) -> str:
        raise Unavailable("Vault is sealed")


def test_transit_outage_fails_the_request_instead_of_serving_n_a() -> None:
    """Unavailable from the transit engine propagates (retry later), unlike a crypto failure."""
    ring = KeyRing(keys={}, default=None, primary=None, transit=_DownTransit())
    with pytest.raises(Unavailable):
        decrypt_sources([PropertySource.of("s", {"p": "{cipher}{key:transit:k}vault:v1:x"})], ring)


def test_failure_without_invalid_prefix_keeps_the_key_and_the_ciphertext(ring: KeyRing) -> None:
    """CipherEnvironmentEncryptorTests#decryptFailedWithoutInvalidPrefix: prefix-invalid-properties
    false serves the key itself, its value the ciphertext without {cipher}, and no invalid.<key>."""
    src = _source(p=PropertyValue(BAD), z=PropertyValue("2"))
    (out,) = decrypt_sources([src], ring, prefix_invalid=False)
    assert {k: v.value for k, v in out.source.items()} == {"z": "2", "p": BAD.removeprefix("{cipher}")}


def test_failure_with_invalid_prefix_is_the_default(ring: KeyRing) -> None:
    """CipherEnvironmentEncryptorTests#shouldDecryptFailed: invalid.<key> = <n/a>, the key itself gone."""
    (out,) = decrypt_sources([_source(p=PropertyValue(BAD))], ring)
    assert {k: v.value for k, v in out.source.items()} == {"invalid.p": "<n/a>"}
