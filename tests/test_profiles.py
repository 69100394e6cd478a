"""Spring profile expressions in spring.config.activate.on-profile."""

from __future__ import annotations

import pytest

from config_server.profiles import MalformedProfileExpression, matches, matches_any


@pytest.mark.parametrize(
    ("expression", "active", "expected"),
    [
        ("dev", {"dev"}, True),
        ("dev", {"prod"}, False),
        ("!prod", {"dev"}, True),
        ("!prod", {"prod"}, False),
        ("prod & eu", {"prod", "eu"}, True),
        ("prod & eu", {"prod"}, False),
        ("prod | eu", {"eu"}, True),
        ("prod|eu", set(), False),
        ("(prod & eu) | dev", {"dev"}, True),
        ("(prod & eu) | dev", {"prod", "eu"}, True),
        ("!(prod & eu)", {"prod", "eu"}, False),
        ("!!dev", {"dev"}, True),
        ("prod & !eu", {"prod"}, True),
        ("  dev  ", {"dev"}, True),
    ],
)
def test_expression_matches_active_profiles(expression: str, active: set[str], expected: bool) -> None:
    """An expression holds exactly when Spring's Profiles.of would say so."""
    assert matches(expression, active) is expected


@pytest.mark.parametrize("expression", ["", "a & b | c", "(a", "a)", "a & ", "!", "& a", "a b"])
def test_malformed_expressions_are_rejected(expression: str) -> None:
    """Empty input, unbalanced parentheses and mixing & with | without parentheses are errors."""
    with pytest.raises(MalformedProfileExpression):
        matches(expression, {"a"})


def test_a_list_of_expressions_matches_when_any_does() -> None:
    """on-profile given as a list (or comma string) means any one of them."""
    assert matches_any(["prod", "staging"], {"staging"})
    assert not matches_any(["prod", "staging"], {"dev"})
