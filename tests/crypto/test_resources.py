"""Specification of ``{cipher}`` values decrypted inside plain-text resources, layout kept."""

from __future__ import annotations

import pytest

from config_server.crypto import KeyRing, SymmetricEncryptor
from config_server.crypto.resources import decrypt_resource
from config_server.errors import InvalidConfiguration
from tests.crypto.conftest import VECTORS

SPRING = VECTORS / "resource-encryptor"
# Spring's test key for these files: EncryptorFactory("deadbeef").create("foo").
FOO = SymmetricEncryptor("foo", "deadbeef")
CIPHER = "d1b2458ccede07c856ff952bd841638ff4dd12ed1d36812663c3c7262d57bf46"  # "SUPER SECRET"


@pytest.fixture
def ring() -> KeyRing:
    """A lone key: {key:mytestkey} selects nothing, as Spring's single-key locator in these tests."""
    return KeyRing(keys={"default": FOO}, default="default", primary="default", single_key_ignores_names=True)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("test.yml", id="CipherResourceYamlEncryptorTests"),
        pytest.param("test.properties", id="CipherResourcePropertiesEncryptorTests"),
        pytest.param("test.json", id="CipherResourceJsonEncryptorTests"),
    ],
)
def test_spring_resources_have_every_value_decrypted(ring: KeyRing, name: str) -> None:
    """CipherResource{Yaml,Properties,Json}EncryptorTests#whenDecryptResource_thenAllEncryptedValuesDecrypted:
    no {cipher} is left in Spring's own test files (block scalars and {key:..} prefixes included)."""
    text = (SPRING / name).read_text()
    out = decrypt_resource(name, text, ring.decrypt)
    assert "{cipher}" not in out and CIPHER not in out
    assert out.count("SUPER SECRET") == text.count("{cipher}")


def test_everything_but_the_values_is_kept(ring: KeyRing) -> None:
    """Comments, order, quoting and indentation stay as written; only the value text changes."""
    text = f"# the database\ndb:\n  user: app   # who\n  password: '{{cipher}}{CIPHER}'  # new\n\nz: plain\n"
    out = decrypt_resource("app.yml", text, ring.decrypt)
    assert out == text.replace(f"{{cipher}}{CIPHER}", "SUPER SECRET")


def test_properties_values_are_decrypted_in_place(ring: KeyRing) -> None:
    """A .properties value (escapes as Java reads them) is replaced where it stands, comments kept."""
    text = f"! secrets\npassword = {{cipher}}{CIPHER}\n# end\n"
    assert (
        decrypt_resource("a.properties", text, ring.decrypt) == "! secrets\npassword = SUPER SECRET\n# end\n"
    )


def test_json_plaintext_is_escaped(ring: KeyRing) -> None:
    """In JSON the plaintext is written as a JSON string body, so a quote keeps the file valid."""
    cipher = FOO.encrypt('say "hi"')
    out = decrypt_resource("a.json", f'{{"a": "{{cipher}}{cipher}"}}', ring.decrypt)
    assert out == '{"a": "say \\"hi\\""}'


def test_keys_are_not_values(ring: KeyRing) -> None:
    """A mapping key that starts with {cipher} is left alone (Jackson's VALUE_STRING tokens only)."""
    text = "'{cipher}k': v\n"
    assert decrypt_resource("a.yml", text, ring.decrypt) == text


@pytest.mark.parametrize("name", ["notes.txt", "Makefile", "a.xml"])
def test_other_extensions_are_served_as_they_are(ring: KeyRing, name: str) -> None:
    """Only .yml, .yaml, .properties and .json are decrypted (Spring: 'Cannot decrypt for extension')."""
    text = f"password: '{{cipher}}{CIPHER}'\n"
    assert decrypt_resource(name, text, ring.decrypt) == text


def test_extension_is_matched_in_any_case(ring: KeyRing) -> None:
    """APP.YAML is YAML, as Spring lower-cases the extension."""
    out = decrypt_resource("conf/APP.YAML", f"p: '{{cipher}}{CIPHER}'\n", ring.decrypt)
    assert out == "p: 'SUPER SECRET'\n"


def test_a_value_that_does_not_decrypt_names_file_and_line_not_value(ring: KeyRing) -> None:
    """A wrong ciphertext is InvalidConfiguration (a 500, as Spring fails) naming file and line."""
    bad = "00" * 32
    with pytest.raises(InvalidConfiguration) as caught:
        decrypt_resource("app.yml", f"a: 1\np: '{{cipher}}{bad}'\n", ring.decrypt)
    assert caught.value.path == "app.yml" and caught.value.line == 2 and bad not in str(caught.value)


def test_a_file_that_does_not_parse_is_invalid_configuration(ring: KeyRing) -> None:
    """A resource with {cipher} that is not valid JSON fails like Spring's parser does."""
    with pytest.raises(InvalidConfiguration):
        decrypt_resource("a.json", '{"a": "{cipher}00",', ring.decrypt)


@pytest.mark.parametrize(
    "text",
    [
        "a: '{cipher}x'\np: !s3cret-tail\n",
        "a: '{cipher}x'\np: *s3cret-tail\n",
        "a: '{cipher}x'\ns3cret-tail: 1\ns3cret-tail: 2\n",
    ],
)
def test_a_parse_error_names_the_line_but_never_the_text(ring: KeyRing, text: str) -> None:
    """Placeholders are resolved before parsing, so a resolved secret (a password starting with ! or
    *) could reach the parser's message, the error body and the log: only the place is given."""
    with pytest.raises(InvalidConfiguration) as caught:
        decrypt_resource("orders.yml", text, ring.decrypt)
    assert "s3cret" not in str(caught.value)
    assert caught.value.path == "orders.yml" and caught.value.line is not None
