"""Specs for reading YAML files the way Spring Boot's OriginTrackedYamlLoader does."""

from __future__ import annotations

import datetime
import math
import time
from typing import Any

import pytest
import yaml
from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats import Document, parse_document_file
from config_server.formats.yaml_loader import MAX_DEPTH, SpringYamlLoader


def _parse(text: str) -> list[Document]:
    return parse_document_file("repo/app.yml", text.encode())


def _one(text: str) -> dict[str, PropertyValue]:
    documents = _parse(text)
    assert len(documents) == 1
    return dict(documents[0].properties)


def _value(text: str) -> Any:
    return _one(f"v: {text}\n")["v"].value


def _error(text: str | bytes) -> InvalidConfiguration:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(InvalidConfiguration) as info:
        parse_document_file("repo/app.yml", data)
    assert info.value.path == "repo/app.yml"
    return info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[(word, True) for word in ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")],
        *[(word, False) for word in ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")],
        ("y", "y"),
        ("n", "n"),
        ("yEs", "yEs"),
        ("42", 42),
        ("-42", -42),
        ("+7", 7),
        ("0", 0),
        ("0x1F", 31),
        ("0x_1f", 31),
        ("017", 15),
        ("-017", -15),
        ("0o17", "0o17"),
        ("0b101", 5),
        ("1_000", 1000),
        ("1:30", 90),
        ("190:20:30", 685230),
        ("09", "09"),
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1.5E-3", 0.0015),
        ("1_000.5", 1000.5),
        ("1:30.5", 90.5),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("~", ""),
        ("null", ""),
        ("Null", ""),
        ("NULL", ""),
        ("", ""),
        ("nULL", "nULL"),
        ("2001-12-14", "2001-12-14"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("'yes'", "yes"),
        ('"42"', "42"),
        ("!!str 42", "42"),
        ("! 42", "42"),
        ("!!int '42'", 42),
        ("!!float 1", 1.0),
        ("!!bool 'on'", True),
        ("!!null x", ""),
        ("=", "="),
        ("<<", "<<"),
        ("hello world", "hello world"),
        ("'it''s'", "it's"),
        ('"tab\\there"', "tab\there"),
    ],
)
def test_scalar_typing(text: str, expected: Any) -> None:
    """Scalars resolve as SnakeYAML's YAML 1.1 rules say, except that dates stay strings."""
    value = _value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_nan_is_a_float() -> None:
    """.nan resolves to a float NaN."""
    assert math.isnan(_value(".NaN"))


@pytest.mark.parametrize(
    ("text", "key", "origin"),
    [
        ("a: 1\n", "a", "1:4"),
        ("a:\n  b:   x\n", "a.b", "2:8"),
        ("a:\n  - x\n  - 'y'\n", "a[1]", "3:5"),
        ("a: [1, {b: c}]\n", "a[1].b", "1:12"),
        ("a:\nb: 1\n", "a", "1:3"),
        ("a: |\n  text\n", "a", "1:4"),
        ("a: []\n", "a", "1:4"),
        ("# comment\n\n  a: 1\n", "a", "3:6"),
    ],
)
def test_origin_is_where_the_value_starts(text: str, key: str, origin: str) -> None:
    """Each property's origin is the 1-based line:column of its value, as Boot reports."""
    assert _one(text)[key].origin == origin


def test_keys_keep_document_order() -> None:
    """Flattened keys come out in the order they are written."""
    assert list(_one("z: 1\na:\n  y: [1, 2]\n  b: 3\nm: 4\n")) == ["z", "a.y[0]", "a.y[1]", "a.b", "m"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1: x\n", "[1]"),
        ("on: x\n", "[true]"),
        ("1.5: x\n", "[1.5]"),
        ("'1': x\n", "1"),
        ("service:\n  configuration:\n    1:\n      topic: t\n", "service.configuration[1].topic"),
        ("a:\n  '[b.c]': x\n", "a[b.c]"),
    ],
)
def test_non_string_keys_are_bracketed(text: str, key: str) -> None:
    """Keys typed as numbers or booleans become [key]; quoted keys stay strings."""
    assert list(_one(text)) == [key]


def test_int_and_string_keys_that_look_alike_are_different_keys() -> None:
    """1 and '1' are different YAML keys (an int and a string), so neither is a duplicate."""
    assert list(_one("1: a\n'1': b\n")) == ["[1]", "1"]


def test_documents_in_file_order_with_activation() -> None:
    """Each --- document is parsed in order and its on-profile read, unevaluated."""
    documents = _parse(
        "a: base\n"
        "---\n"
        "spring.config.activate.on-profile: dev & !cloud\n"
        "a: dev\n"
        "---\n"
        "spring:\n  config:\n    activate:\n      on-profile: [prod, 'staging,qa']\n"
        "a: prod\n"
    )
    assert [d.properties["a"].value for d in documents] == ["base", "dev", "prod"]
    assert [d.on_profile for d in documents] == [None, ("dev & !cloud",), ("prod", "staging", "qa")]


@pytest.mark.parametrize(
    "text",
    ["", "---\n", "---\n...\n", "# only a comment\n", "--- ''\n", "---\n{}\n", "a: {}\n"],
)
def test_files_with_only_empty_documents_give_none(text: str) -> None:
    """Empty, null and property-less documents are skipped."""
    assert _parse(text) == []


def test_empty_documents_do_not_count() -> None:
    """Skipped empty documents leave no gap between the others."""
    documents = _parse("---\n---\na: 1\n---\n# nothing\n---\nb: 2\n")
    assert [list(d.properties) for d in documents] == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", {"document[0]": "a", "document[1]": "b"}),
        ("just text\n", {"document": "just text"}),
        ("42\n", {"document": 42}),
        ("<<\n", {"document": "<<"}),
    ],
)
def test_a_document_that_is_not_a_mapping_is_put_under_document(text: str, expected: dict[str, Any]) -> None:
    """A top-level list or scalar becomes the key 'document' (Spring's YamlProcessor)."""
    assert {k: v.value for k, v in _one(text).items()} == expected


def test_aliases_repeat_the_anchored_value_and_its_origin() -> None:
    """An alias gives the anchored value, with the anchor's origin."""
    props = _one("a: &x hello\nb: *x\nl: &list [1, 2]\nm: *list\n")
    assert props["b"] == PropertyValue("hello", "1:4")
    assert props["m[1]"] == PropertyValue(2, "3:14")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n",
            {"c.x": 1, "c.y": 3},
            id="written-key-beats-merged",
        ),
        pytest.param(
            "base: &b {x: 1, y: 2}\nc:\n  y: 3\n  <<: *b\n",
            {"c.y": 3, "c.x": 1},
            id="written-before-merge-still-wins",
        ),
        pytest.param(
            "p: &p {x: 1}\nq: &q {x: 2, z: 3}\nc:\n  <<: [*p, *q]\n",
            {"c.x": 1, "c.z": 3},
            id="earlier-merge-source-wins",
        ),
        pytest.param("c:\n  <<: {x: 1}\n  w: 2\n", {"c.x": 1, "c.w": 2}, id="inline-merge"),
        pytest.param(
            "d: &d {x: 1}\ne: &e {<<: *d, y: 2}\nc: {<<: *e}\n",
            {"c.x": 1, "c.y": 2},
            id="nested-merge",
        ),
        pytest.param("c: {'<<': 1}\n", {"c.<<": 1}, id="quoted-merge-is-a-key"),
    ],
)
def test_merge_keys(text: str, expected: dict[str, Any]) -> None:
    """<< merges mappings: written keys win, then earlier sources, in first-seen order."""
    props = {k: v.value for k, v in _one(text).items() if k.startswith("c.")}
    assert props == expected
    assert list(props) == list(expected)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "a"),
        ("a:\n  x: 1\n  y: 2\n  x: 3\n", 4, "x"),
        ("a: {x: 1, x: 2}\n", 1, "x"),
        ("0x10: a\n16: b\n", 2, "16"),
        ("- a: 1\n  a: 2\n", 2, "a"),
        ("ok: 1\n---\nb: 1\nb: 2\n", 4, "b"),
    ],
)
def test_duplicate_keys_are_an_error(text: str, line: int, key: str) -> None:
    """A key written twice in one mapping is an error naming the file, the line and the key."""
    error = _error(text)
    assert error.line == line
    assert f"duplicate key {key!r}" in error.problem
    assert f"repo/app.yml:{line}" in str(error)


def test_keys_merged_twice_are_not_duplicates() -> None:
    """Only written keys count as duplicates; a merged key may repeat a written one."""
    assert _one("b: &b {x: 1}\nc: {x: 2, <<: *b}\n")["c.x"].value == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: b: c\n", 1),
        ("a:\n  - x\n  y: z\n", 3),
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 'unterminated\n", 2),
        ("a: *missing\n", 1),
        ("a:\n\tb: 1\n", 2),
        ("a: &r [1, *r]\n", 1),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    """Malformed YAML is an InvalidConfiguration with the line of the problem."""
    assert _error(text).line == line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: !!binary aGVsbG8=\n", "unsupported tag !!binary"),
        ("a: !!timestamp 2001-01-01\n", "unsupported tag !!timestamp"),
        ("a: !custom x\n", "unsupported tag !custom"),
        ("a: !!set {x}\n", "unsupported tag !!set"),
        ("a: !!int twelve\n", "cannot read 'twelve' as !!int"),
        ("a: !!bool maybe\n", "cannot read 'maybe' as !!bool"),
        ("? [a, b]\n: c\n", "cannot be used as a key"),
        ("x: &k {a: 1}\n*k : 1\n", "cannot be used as a key"),
        ("~: x\n", "key cannot be null"),
        ("c:\n  <<: 1\n", "merge key << needs a mapping"),
        ("c:\n  <<: [1]\n", "merge key << needs a mapping"),
        ("a: ._\n", "cannot read '._' as !!float"),
    ],
)
def test_unsupported_constructs_are_errors(text: str, problem: str) -> None:
    """Tags, keys and merges Boot cannot load are errors with a line, not silent surprises."""
    error = _error(text)
    assert problem in error.problem
    assert error.line is not None


def test_alias_bomb_is_refused_quickly() -> None:
    """A billion-laughs document is refused once its expansion passes the bound."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    started = time.perf_counter()
    error = _error("\n".join(lines) + "\n")
    assert "expands to more than" in error.problem
    assert error.line is not None
    assert time.perf_counter() - started < 2


def test_moderate_alias_reuse_is_fine() -> None:
    """Ordinary reuse of anchors stays well inside the bound."""
    text = "base: &b {x: 1, y: [1, 2, 3]}\n" + "".join(f"s{i}: *b\n" for i in range(500))
    assert len(_one(text)) == 4 * 501


@pytest.mark.parametrize(
    "text",
    [
        "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v: 1\n",
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n",
        "- " * 2000 + "x\n",
    ],
    ids=["block-maps", "flow-lists", "flow-maps", "block-lists"],
)
def test_deep_nesting_is_a_clear_error(text: str) -> None:
    """Nesting past the bound is an InvalidConfiguration with a line, never a RecursionError."""
    error = _error(text)
    assert error.line is not None
    assert "nesting" in error.problem


def test_nesting_within_the_bound_is_fine() -> None:
    """Deep but reasonable nesting parses."""
    depth = MAX_DEPTH - 1
    text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"
    (key,) = _one(text)
    assert key.endswith(".v")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a: 1\nb: \xff\xfe\x00garbage\n", 2),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1),
        (b"a: ok\nb: \x00\n", 2),
        (b"a: \x07bell\n", 1),
        (b"a: caf\xe9\n", 1),
    ],
    ids=["invalid-utf8", "png", "nul", "control-char", "latin1-not-utf8"],
)
def test_binary_or_undecodable_input_is_invalid_configuration(data: bytes, line: int) -> None:
    """Bytes that are not YAML text give InvalidConfiguration with the line, never UnicodeDecodeError."""
    assert _error(data).line == line


def test_a_huge_line_is_refused() -> None:
    """A single line over the limit is refused with its line number."""
    error = _error("a: 1\nb: " + "x" * (1024 * 1024 + 10) + "\n")
    assert error.line == 2


@pytest.mark.parametrize(
    "data",
    [
        "a: é\n".encode("utf-8-sig"),
        "a: é\n".encode("utf-16"),
        "a: é\n".encode("utf-16-be").join([b"\xfe\xff", b""]),
    ],
    ids=["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_byte_order_marks_choose_the_encoding(data: bytes) -> None:
    """UTF-8 is the default; a byte-order mark selects UTF-8 or UTF-16, as SnakeYAML does."""
    (document,) = parse_document_file("app.yml", data)
    assert document.properties["a"].value == "é"


def test_the_loader_class_types_like_boot_and_leaves_safe_loader_alone() -> None:
    """SpringYamlLoader keeps dates as strings; yaml.SafeLoader still reads dates."""
    assert yaml.load("d: 2001-01-01\nn: 1e3\n", Loader=SpringYamlLoader) == {"d": "2001-01-01", "n": 1000.0}
    assert yaml.safe_load("d: 2001-01-01") == {"d": datetime.date(2001, 1, 1)}


def test_parsing_time_grows_linearly_with_the_file() -> None:
    """A file four times longer (8,000 lines) takes well under ten times as long to parse as a
    2,000-line one (a ratio measured in the same run: quadratic parsing would be about 16x)."""
    small, large = _blocks(400), _blocks(1600)
    assert small.count(b"\n") == 2000
    ratio = min(_timed(large, 1600) for _ in range(3)) / min(_timed(small, 400) for _ in range(3))
    assert ratio < 10, ratio


def _blocks(count: int) -> bytes:
    return "".join(
        f"service{i}:\n  url: http://host-{i}:8080/path\n  enabled: true\n  retries: {i}\n  tags: [a, b]\n"
        for i in range(count)
    ).encode()


def _timed(data: bytes, blocks: int) -> float:
    started = time.perf_counter()
    (document,) = parse_document_file("big.yml", data)
    elapsed = time.perf_counter() - started
    assert len(document.properties) == blocks * 5
    return elapsed
