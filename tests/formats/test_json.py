"""Specs for reading .json configuration files: strict JSON, typed and flattened like YAML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats import Document, parse_document_file


def _parse(text: str | bytes) -> list[Document]:
    data = text.encode() if isinstance(text, str) else text
    return parse_document_file("repo/app.json", data)


def _one(text: str) -> dict[str, PropertyValue]:
    documents = _parse(text)
    assert len(documents) == 1
    return dict(documents[0].properties)


def _error(text: str | bytes) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as info:
        _parse(text)
    assert info.value.path == "repo/app.json"
    return info.value


def test_json_is_typed_and_flattened_like_yaml() -> None:
    """Objects, arrays and scalars flatten as YAML does, keeping JSON's types."""
    text = '{"a": {"b": [1, 2.5, true, null, "yes", ""]}, "c": {}, "d": [], "e": -0, "f": 1E+2}'
    values = {k: v.value for k, v in _one(text).items()}
    assert values == {
        "a.b[0]": 1,
        "a.b[1]": 2.5,
        "a.b[2]": True,
        "a.b[3]": "",
        "a.b[4]": "yes",
        "a.b[5]": "",
        "d": "",
        "e": 0,
        "f": 100.0,
    }
    assert [type(v) for v in values.values()] == [int, float, bool, str, str, str, str, int, float]


def test_json_origins_point_at_values() -> None:
    """Values carry the 1-based line:column where they start."""
    props = _one('{\n  "a": {\n    "b": "x",\n\t"c": [true]\n  }\n}\n')
    assert props["a.b"].origin == "3:10"
    assert props["a.c[0]"].origin == "4:8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", {"document[0]": 1, "document[1]": 2}),
        ('"text"', {"document": "text"}),
        ('{"a---b": "---"}', {"a---b": "---"}),
    ],
)
def test_a_json_file_is_one_document(text: str, expected: dict[str, Any]) -> None:
    """A JSON file is a single document; a non-object goes under 'document'."""
    assert {k: v.value for k, v in _one(text).items()} == expected


@pytest.mark.parametrize("text", ["{}", "null", '{"a": {}}'])
def test_json_without_properties_gives_no_documents(text: str) -> None:
    """An empty object or null has no documents."""
    assert _parse(text) == []


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[1, 2,]", 1, 7),
        ('{"a": 1,}', 1, 9),
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3),
        ("{'a': 1}", 1, 2),
        ("{a: 1}", 1, 2),
        ('{"a": 1} // comment', 1, 10),
        ('{"a": 1}\n---\n{"b": 2}', 2, 1),
        ("", 1, 1),
        ('{"a": 0x10}', 1, 8),
    ],
)
def test_invalid_json_names_line_and_column(text: str, line: int, column: int) -> None:
    """What json.loads rejects is an error with line and column, even where YAML would accept it."""
    error = _error(text)
    assert (error.line, error.column) == (line, column)
    assert error.problem.startswith("invalid JSON")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_number_constants_are_refused(constant: str) -> None:
    """NaN and Infinity are not JSON values."""
    assert constant in _error(f'{{"a": {constant}}}').problem


def test_duplicate_keys_are_an_error_with_the_line() -> None:
    """A key repeated in one object is an error naming the key and its line."""
    error = _error('{\n  "a": 1,\n  "a": 2\n}')
    assert error.line == 3
    assert "duplicate key 'a'" in error.problem


def test_deep_nesting_is_a_clear_error() -> None:
    """Very deep arrays give InvalidConfiguration, never RecursionError."""
    error = _error("[" * 100_000 + "]" * 100_000)
    assert "nest" in error.problem


def test_json_libyaml_cannot_read_still_loads_without_origins() -> None:
    """Valid JSON that the YAML reader refuses (escaped surrogate pairs) keeps its values."""
    props = _one('{"a": "\\ud83d\\ude00", "b": [1]}')
    assert props == {"a": PropertyValue("\U0001f600"), "b[0]": PropertyValue(1)}


def test_duplicate_keys_are_found_without_the_yaml_reader_too() -> None:
    """Duplicates are refused even when only the JSON reader can read the file."""
    assert "duplicate key 'a'" in _error('{"x": "\\ud83d\\ude00", "a": 1, "a": 2}').problem


def test_binary_input_is_invalid_configuration() -> None:
    """Undecodable bytes are an InvalidConfiguration, never a UnicodeDecodeError."""
    assert _error(b'{"a": "\xff"}').line == 1


def test_round_trip_of_json_dumps() -> None:
    """Whatever json.dumps writes for nested data parses back to the same values."""
    data = {"s": {"list": [{"x": 1}, [True, None]], "n": -3.25, "u": "ünï"}}
    values = {k: v.value for k, v in _one(json.dumps(data, indent=2)).items()}
    assert values == {"s.list[0].x": 1, "s.list[1][0]": True, "s.list[1][1]": "", "s.n": -3.25, "s.u": "ünï"}
