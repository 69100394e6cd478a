"""Specs for flattening nested data into Spring's dotted keys."""

from __future__ import annotations

import string
from typing import Any

import pytest
import yaml
from config_client.wire import PropertyValue
from hypothesis import given, settings
from hypothesis import strategies as st

from config_server.formats import Located, flatten, parse_document_file
from config_server.formats.flatten import key_segment


def _values(flat: dict[str, PropertyValue]) -> dict[str, Any]:
    return {k: v.value for k, v in flat.items()}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"a": {"b": 1}}, {"a.b": 1}, id="nested-map"),
        pytest.param({"a": [1, "x"]}, {"a[0]": 1, "a[1]": "x"}, id="list"),
        pytest.param({"a": [1, [2, 3]]}, {"a[0]": 1, "a[1][0]": 2, "a[1][1]": 3}, id="nested-lists"),
        pytest.param({"a": {"b": [{"c": 1}, {"d": 2}]}}, {"a.b[0].c": 1, "a.b[1].d": 2}, id="list-of-maps"),
        pytest.param({"a": {"[x.y]": 1}}, {"a[x.y]": 1}, id="bracket-key-takes-no-dot"),
        pytest.param({"[x.y]": 1}, {"[x.y]": 1}, id="bracket-key-at-top"),
        pytest.param(
            {"service": {"configuration": {1: {"topic": "t"}}}},
            {"service.configuration[1].topic": "t"},
            id="int-key",
        ),
        pytest.param({"a": {True: 1, 2.5: 2}}, {"a[true]": 1, "a[2.5]": 2}, id="bool-and-float-keys"),
        pytest.param({"a": None}, {"a": ""}, id="null-is-empty-string"),
        pytest.param({"a": []}, {"a": ""}, id="empty-list-is-empty-string"),
        pytest.param({"a": {}, "b": 1}, {"b": 1}, id="empty-map-gives-no-key"),
        pytest.param({"a": [None, {}]}, {"a[0]": ""}, id="null-and-empty-map-in-list"),
        pytest.param([1, 2], {"document[0]": 1, "document[1]": 2}, id="top-level-list"),
        pytest.param("text", {"document": "text"}, id="top-level-scalar"),
        pytest.param({"a": 1.5, "b": True, "c": "s"}, {"a": 1.5, "b": True, "c": "s"}, id="types-kept"),
    ],
)
def test_flatten_shapes(data: Any, expected: dict[str, Any]) -> None:
    """Nested data flattens into Spring's dotted and indexed keys."""
    flat = _values(flatten(data))
    assert flat == expected
    assert [type(v) for v in flat.values()] == [type(v) for v in expected.values()]


def test_flatten_keeps_input_order() -> None:
    """Keys come out in the order of the input, depth first."""
    flat = flatten({"z": 1, "a": {"y": 2, "b": 3}, "m": [4]})
    assert list(flat) == ["z", "a.y", "a.b", "m[0]"]


def test_flatten_carries_origins_from_located_values() -> None:
    """A Located value gives its origin to the property; plain values have none."""
    flat = flatten({"a": Located(1, "3:7"), "b": 2, "c": Located([], "4:4"), "d": Located({}, "5:4")})
    assert flat == {"a": PropertyValue(1, "3:7"), "b": PropertyValue(2), "c": PropertyValue("", "4:4")}


@pytest.mark.parametrize("data", [{None: 1}, {(1, 2): 1}, {"a": object()}, {"a": b"bytes"}])
def test_flatten_rejects_what_spring_cannot_name(data: Any) -> None:
    """Null or composite keys and non-scalar leaf values are a TypeError."""
    with pytest.raises(TypeError):
        flatten(data)


@pytest.mark.parametrize(("key", "segment"), [("a", "a"), (1, "[1]"), (False, "[false]"), (0.5, "[0.5]")])
def test_key_segment(key: Any, segment: str) -> None:
    """Strings are used as they are, other scalars are bracketed as Java prints them."""
    assert key_segment(key) == segment


# Words only: digits and dots would let PyYAML's dumper write plain scalars (like 1e3) that
# SnakeYAML's rules, which we follow, read as numbers.
_words = st.text(alphabet=string.ascii_letters + " -", max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    _words,
)
_keys = st.one_of(_words, st.integers(min_value=-1000, max_value=1000))
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=25,
)


def _reference_flatten(node: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            segment = key if isinstance(key, str) else f"[{str(key).lower()}]"
            if path and not segment.startswith("["):
                segment = "." + segment
            _reference_flatten(value, path + segment, out)
    elif isinstance(node, list):
        if not node:
            out[path] = ""
        for index, item in enumerate(node):
            _reference_flatten(item, f"{path}[{index}]", out)
    else:
        out[path] = "" if node is None else node


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_keys, _trees, max_size=5))
def test_yaml_round_trip_matches_reference_flattening(data: dict[Any, Any]) -> None:
    """Any nested data dumped as YAML parses back to the reference flattening, in order."""
    expected: dict[str, Any] = {}
    _reference_flatten(data, "", expected)
    documents = parse_document_file("random.yml", yaml.safe_dump(data, sort_keys=False).encode())
    actual = [(k, v.value) for d in documents for k, v in d.properties.items()]
    assert actual == list(expected.items())
    assert [type(v) for _, v in actual] == [type(v) for v in expected.values()]
