"""Specs for parse_document_file: dispatch by extension, activation and the legacy profile key."""

from __future__ import annotations

import pytest
from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats import EXTENSIONS, Document, parse_document_file


def test_extensions_in_precedence_order() -> None:
    """The supported extensions, highest precedence first, as Boot orders its loaders."""
    assert EXTENSIONS == ("properties", "yml", "yaml", "json")


@pytest.mark.parametrize(
    ("path", "data", "value"),
    [
        ("app.properties", b"a=1\n", "1"),
        ("app.yml", b"a: 1\n", 1),
        ("dir.d/app.yaml", b"a: 1\n", 1),
        ("app.json", b'{"a": 1}', 1),
        ("APP.YML", b"a: 1\n", 1),
    ],
)
def test_parser_is_chosen_by_extension(path: str, data: bytes, value: object) -> None:
    """The extension picks the parser: .properties values are strings, YAML and JSON keep types."""
    (document,) = parse_document_file(path, data)
    assert document.properties["a"].value == value
    assert type(document.properties["a"].value) is type(value)


@pytest.mark.parametrize("path", ["app.xml", "app", "app.yml.bak", "yml", "config.d/app", ".properties.txt"])
def test_unknown_extension_is_a_programming_error(path: str) -> None:
    """Only EXTENSIONS may be passed; anything else is a ValueError, not a configuration error."""
    with pytest.raises(ValueError, match="extension"):
        parse_document_file(path, b"a: 1\n")


def test_document_properties_are_read_only() -> None:
    """A Document is a value: its properties cannot be changed."""
    (document,) = parse_document_file("app.yml", b"a: 1\n")
    with pytest.raises(TypeError):
        document.properties["b"] = PropertyValue(2)  # type: ignore[index]
    assert document == Document({"a": PropertyValue(1, "1:4")}, None)


@pytest.mark.parametrize(
    ("path", "text", "on_profile"),
    [
        ("a.yml", "spring.config.activate.on-profile: dev\n", ("dev",)),
        ("a.yml", "spring:\n  config:\n    activate:\n      on-profile: dev\n", ("dev",)),
        ("a.yml", "spring.config.activate.on-profile: ' dev , prod ,'\n", ("dev", "prod")),
        ("a.yml", "spring.config.activate.on-profile: dev & (eu | us)\n", ("dev & (eu | us)",)),
        ("a.yml", "spring.config.activate.on-profile: [dev, '!prod']\n", ("dev", "!prod")),
        ("a.yml", "spring.config.activate.on-profile:\n  - a,b\n  - c\n", ("a", "b", "c")),
        ("a.yml", "spring.config.activate.on-profile: ''\nx: 1\n", None),
        ("a.yml", "spring.config.activate.on-profile: []\nx: 1\n", None),
        ("a.yml", "spring.config.activate.on-profile: on\n", ("true",)),
        ("a.yml", "x: 1\n", None),
        ("a.yml", "spring.config.activate.on-cloud-platform: kubernetes\n", None),
        ("a.properties", "spring.config.activate.on-profile=dev,prod\n", ("dev", "prod")),
        ("a.properties", "spring.config.activate.on-profile[]=dev,prod\n", ("dev", "prod")),
        ("a.json", '{"spring": {"config": {"activate": {"on-profile": "qa"}}}}', ("qa",)),
    ],
)
def test_on_profile_expressions(path: str, text: str, on_profile: tuple[str, ...] | None) -> None:
    """on-profile gives unevaluated expressions (YAML list or comma list); None if absent or empty."""
    (document,) = parse_document_file(path, text.encode())
    assert document.on_profile == on_profile


def test_on_profile_stays_among_the_properties() -> None:
    """The activation key is still a property of its document, as in Boot's property source."""
    (document,) = parse_document_file("a.yml", b"spring.config.activate.on-profile: dev\n")
    assert document.properties["spring.config.activate.on-profile"] == PropertyValue("dev", "1:36")


@pytest.mark.parametrize(
    ("path", "text", "line"),
    [
        ("a.yml", "a: 1\nspring.profiles: dev\n", 2),
        ("a.yml", "a: 1\n---\nspring:\n  profiles: dev\n", 4),
        ("a.yml", "spring:\n  profiles:\n    - dev\n    - prod\n", 3),
        ("a.yml", "spring:\n  profiles:\n", 2),
        ("a.properties", "a=1\n#---\nspring.profiles=dev\n", 3),
        ("a.json", '{"spring": {\n"profiles": "dev"}}', 2),
    ],
)
def test_legacy_spring_profiles_key_is_an_error(path: str, text: str, line: int) -> None:
    """The pre-2.4 'spring.profiles' activation is refused, naming the line and the new key."""
    with pytest.raises(InvalidConfiguration) as info:
        parse_document_file(path, text.encode())
    assert info.value.path == path
    assert info.value.line == line
    assert "spring.config.activate.on-profile" in info.value.problem


@pytest.mark.parametrize(
    "text",
    [
        "spring.profiles.active: dev\n",
        "spring.profiles.include: [a, b]\n",
        "spring.profiles.default: base\n",
        "spring:\n  profiles:\n    group:\n      prod: [db, mq]\n",
        "spring.profilesx: 1\n",
        "my.spring.profiles: 1\n",
    ],
)
def test_other_spring_profiles_keys_are_ordinary(text: str) -> None:
    """spring.profiles.active/include/default/group.* and look-alikes are ordinary keys."""
    (document,) = parse_document_file("a.yml", text.encode())
    assert document.on_profile is None


@pytest.mark.parametrize(
    ("path", "data", "line"),
    [
        ("bad.yml", b"a: 1\n---\nx: 2\nspring.config.activate.on-profile: a & b | c\n", 4),
        ("bad.properties", b"a=1\n#---\nspring.config.activate.on-profile=(dev\n", 3),
    ],
)
def test_malformed_on_profile_names_file_and_line(path: str, data: bytes, line: int) -> None:
    """A profile expression that cannot be parsed fails the file at once, naming its line."""
    with pytest.raises(InvalidConfiguration) as info:
        parse_document_file(path, data)
    assert info.value.path == path and info.value.line == line
    assert "Malformed profile expression" in info.value.message
