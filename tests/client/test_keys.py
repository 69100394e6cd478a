"""The one key grammar (config_client.keys), which the server's renderings also parse keys with."""

from __future__ import annotations

import pytest
from config_client.keys import Token, child_key, format_key, parse_key, yaml_key


@pytest.mark.parametrize(
    ("key", "tokens"),
    [
        pytest.param("a.b[0].c", ("a", "b", 0, "c"), id="names-and-index"),
        pytest.param("a[0][1]", ("a", 0, 1), id="nested-lists"),
        pytest.param("b[0].c", ("b", 0, "c"), id="list-of-maps"),
        pytest.param("b[hello]", ("b[hello]",), id="bracketed-map-key-stays-in-the-name"),
        pytest.param("a[x][0]", ("a[x]", 0), id="index-after-bracketed-name"),
        pytest.param("a[0][x]", ("a", 0, "[x]"), id="bracketed-name-after-index"),
        pytest.param("a[x.y].z", ("a[x.y]", "z"), id="dot-inside-brackets"),
        pytest.param("a..b", ("a", "", "b"), id="empty-name"),
        pytest.param("a.", ("a", ""), id="trailing-dot"),
        pytest.param(".a", ("", "a"), id="leading-dot"),
        pytest.param("", ("",), id="empty-key"),
        pytest.param("a[", ("a[",), id="unclosed-bracket"),
        pytest.param("a[1", ("a[1",), id="unclosed-index"),
        pytest.param("a[]", ("a[]",), id="empty-brackets"),
        pytest.param("a[-1]", ("a[-1]",), id="negative-is-a-name"),
        pytest.param("a[\u0661]", ("a[\u0661]",), id="non-ascii-digit-is-a-name"),
        pytest.param("x[999999999]", ("x", 999999999), id="nine-digits-index"),
        pytest.param("x[1234567890]", ("x[1234567890]",), id="ten-digits-name"),
        # The classes the server and the client used to parse differently:
        # text right after an index (was ("a", 0, "b") for the client; Spring rejects it)
        pytest.param("a[0]b", ("a[0]b",), id="text-after-index"),
        pytest.param("2[1]a", ("2[1]a",), id="text-after-index-digits"),
        pytest.param("[0]-", ("[0]-",), id="leading-index-then-text"),
        pytest.param("a[0]]", ("a[0]]",), id="stray-bracket-after-index"),
        # a leading index (was the name "[1]" for the server)
        pytest.param("[0]", (0,), id="leading-index"),
        pytest.param("[1].topic", (1, "topic"), id="leading-index-then-name"),
        pytest.param("[0][1]", (0, 1), id="leading-nested-indexes"),
        # an index right after a dot (was the name "[0]" for the server)
        pytest.param("a.[0]", ("a", "", 0), id="index-after-dot"),
        pytest.param(".[0]", ("", "", 0), id="index-after-leading-dot"),
        pytest.param("a[0].[1]", ("a", 0, "", 1), id="index-after-index-and-dot"),
    ],
)
def test_parse_key(key: str, tokens: tuple[Token, ...]) -> None:
    """Each key splits into these names and indexes, and format_key writes it back unchanged."""
    assert parse_key(key) == tokens
    assert format_key(tokens) == key


@pytest.mark.parametrize(
    ("key", "tokens", "written"),
    [
        pytest.param("a[01]", ("a", 1), "a[1]", id="leading-zero-is-index-one"),
        pytest.param("a[0].[x]", ("a", 0, "[x]"), "a[0][x]", id="dot-before-bracketed-name"),
    ],
)
def test_spellings_format_key_does_not_give_back(key: str, tokens: tuple[Token, ...], written: str) -> None:
    """The only keys format_key writes differently are these two spellings of the same path."""
    assert parse_key(key) == tokens
    assert format_key(tokens) == written
    assert parse_key(written) == tokens


@pytest.mark.parametrize(
    ("parent", "name", "key"),
    [("", "a", "a"), ("a", "b", "a.b"), ("a", "[x]", "a[x]"), ("a[0]", "[1]", "a[0][1]"), ("a", "", "a.")],
)
def test_child_key(parent: str, name: str, key: str) -> None:
    """Names join with a dot, except at the top and for bracketed map keys (Spring's YAML flattening)."""
    assert child_key(parent, name) == key


@pytest.mark.parametrize(
    ("tokens", "key"),
    [
        (("a", "b", 0, "c"), "a.b[0].c"),
        ((1, "topic"), "[1].topic"),
        (("a", "", 0), "a.[0]"),
        (("", "a"), "a"),
        (("a", "[x]"), "a[x]"),
    ],
)
def test_yaml_key(tokens: tuple[Token, ...], key: str) -> None:
    """What nesting a path as YAML reads back as; it differs from format_key only for odd paths."""
    assert yaml_key(tokens) == key
