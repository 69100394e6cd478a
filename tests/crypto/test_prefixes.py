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
        ("{flag}x", (("flag", ""),), "x"),
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
    """Leading groups become pairs; {plain} ends them; the payload is never altered."""
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
