"""Specification of the ``{name:value}`` prefix helper (reference §1.4)."""

from __future__ import annotations

import pytest

from config_server.crypto import join_prefixes, split_prefixes


@pytest.mark.parametrize(
    ("text", "pairs", "payload"),
    [
        ("AQB", (), "AQB"),
        ("{key:mytestkey}AQB", (("key", "mytestkey"),), "AQB"),
        ("{key:a}{secret:x}AQB", (("key", "a"), ("secret", "x")), "AQB"),
        ("{key:transit:orders}vault:v1:abc", (("key", "transit:orders"),), "vault:v1:abc"),
        ("{key:a}{key:b}x", (("key", "b"),), "x"),
        ("{flag}x", (), "{flag}x"),
        ("{key:a}{flag}x", (("key", "a"),), "{flag}x"),
        ("{secret:}x", (("secret", ""),), "x"),
        ("  {key:a}x", (("key", "a"),), "x"),
        ("{plain}{key:a}x", (), "{key:a}x"),
        ("{key:a}{plain}{b:c}", (("key", "a"),), "{b:c}"),
        ("a}b", (), "a}b"),
        ("{not closed", (), "{not closed"),
        ("{a:b}", (("a", "b"),), ""),
        ("", (), ""),
        ("  leading space kept", (), "  leading space kept"),
    ],
)
def test_split(text: str, pairs: tuple[tuple[str, str], ...], payload: str) -> None:
    """Leading {name:value} groups become pairs; {plain} ends them; the payload is never altered."""
    parsed = split_prefixes(text)
    assert (parsed.pairs, parsed.payload) == (pairs, payload)


def test_join_is_spring_serialisation() -> None:
    """Pairs are written back as {name:value} in order, in front of the payload."""
    assert join_prefixes([("key", "k1"), ("secret", "")], "AQB") == "{key:k1}{secret:}AQB"


def test_get_and_without() -> None:
    """get() reads one pair; without() drops named pairs keeping order."""
    parsed = split_prefixes("{name:app}{key:k}{profiles:dev}{x:y}z")
    assert parsed.get("key") == "k" and parsed.get("missing") is None
    assert parsed.without("name", "profiles") == (("key", "k"), ("x", "y"))


# EnvironmentPrefixHelperTests, row by row: (Spring test, text, the payload Spring's stripPrefix
# keeps, the key Spring's getEncryptorKeys finds or None).
@pytest.mark.parametrize(
    ("text", "payload", "key"),
    [
        pytest.param("foo", "foo", None, id="testStripNoPrefix"),
        pytest.param("{key:foo}foo", "foo", "foo", id="testStripPrefix"),
        pytest.param("{plain}{key:foo}foo", "{key:foo}foo", None, id="testStripPrefixWithEscape"),
        pytest.param("{key:mykey}foo", "foo", "mykey", id="testKeysWithPrefix"),
        pytest.param(
            "{key:mykey}{plain}{foo:bar}foo", "{foo:bar}foo", "mykey", id="testKeysWithPrefixAndEscape"
        ),
        pytest.param("textwith}brac{es", "textwith}brac{es", None, id="testTextWithCurlyBracesNoPrefix"),
        pytest.param(
            "{key:foo}{name:bar}textwith}brac{es{and}prefix",
            "textwith}brac{es{and}prefix",
            "foo",
            id="testTextWithCurlyBracesPrefix",
        ),
    ],
)
def test_spring_environment_prefix_helper(text: str, payload: str, key: str | None) -> None:
    """EnvironmentPrefixHelperTests#testStrip*, #testKeys*, #testTextWithCurlyBraces*: payload and key."""
    parsed = split_prefixes(text)
    assert (parsed.payload, parsed.get("key")) == (payload, key)


def test_spring_keys_with_escape_keep_only_the_leading_pairs() -> None:
    """EnvironmentPrefixHelperTests#testKeysWithPrefixAndEscape: {foo:bar} after {plain} is no pair."""
    assert split_prefixes("{key:mykey}{plain}{foo:bar}foo").pairs == (("key", "mykey"),)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param([("bar", "spam")], "{bar:spam}foo", id="testAddPrefix"),
        pytest.param([], "foo", id="testAddNoPrefix"),
    ],
)
def test_spring_add_prefix(pairs: list[tuple[str, str]], expected: str) -> None:
    """EnvironmentPrefixHelperTests#testAddPrefix and #testAddNoPrefix."""
    assert join_prefixes(pairs, "foo") == expected
