"""Spring profile expressions (``spring.config.activate.on-profile``), evaluated without I/O.

Grammar, as Spring's ``Profiles.of``: a profile name, ``!expr``, ``expr & expr``, ``expr | expr``
and parentheses. Mixing ``&`` and ``|`` at one level without parentheses is malformed, as in Spring
(``a & b | c`` must be written ``(a & b) | c``). A list of expressions matches when any one does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable

__all__ = ["MalformedProfileExpression", "matches", "matches_any"]

_TOKEN = re.compile(r"\s*(?:([()&|!])|([^()&|!\s]+))")

Predicate = Callable[[Collection[str]], bool]


class MalformedProfileExpression(ValueError):
    """The expression cannot be parsed; the message says where."""


def matches(expression: str, active: Collection[str]) -> bool:
    """Whether ``expression`` holds for the set of ``active`` profiles.

    Raises ``MalformedProfileExpression`` for an empty or malformed expression.
    """
    return _compile(expression)(active)


def matches_any(expressions: Iterable[str], active: Collection[str]) -> bool:
    """Whether any of ``expressions`` holds (Spring's list semantics for ``on-profile``)."""
    return any(matches(e, active) for e in expressions)


def _tokens(expression: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the pattern accepts every non-space character
            raise MalformedProfileExpression(f"Malformed profile expression [{expression}]")
        out.append(m.group(1) or m.group(2))
        pos = m.end()
    if not out:
        raise MalformedProfileExpression("Invalid profile expression: empty")
    return out


def _compile(expression: str) -> Predicate:
    tokens = _tokens(expression)
    pred, pos = _parse_sequence(tokens, 0, expression)
    if pos != len(tokens):
        raise MalformedProfileExpression(f"Malformed profile expression [{expression}]")
    return pred


def _parse_sequence(tokens: list[str], pos: int, expr: str) -> tuple[Predicate, int]:
    operands: list[Predicate] = []
    operator: str | None = None
    while True:
        pred, pos = _parse_unary(tokens, pos, expr)
        operands.append(pred)
        if pos >= len(tokens) or tokens[pos] == ")":
            break
        op = tokens[pos]
        if op not in ("&", "|"):
            raise MalformedProfileExpression(f"Malformed profile expression [{expr}]")
        if operator is not None and op != operator:
            raise MalformedProfileExpression(
                f"Malformed profile expression [{expr}]: mix '&' and '|' only with parentheses"
            )
        operator = op
        pos += 1
    if len(operands) == 1:
        return operands[0], pos
    if operator == "&":
        return (lambda active: all(p(active) for p in operands)), pos
    return (lambda active: any(p(active) for p in operands)), pos


def _parse_unary(tokens: list[str], pos: int, expr: str) -> tuple[Predicate, int]:
    if pos >= len(tokens):
        raise MalformedProfileExpression(f"Malformed profile expression [{expr}]")
    tok = tokens[pos]
    if tok == "!":
        inner, pos = _parse_unary(tokens, pos + 1, expr)
        return (lambda active: not inner(active)), pos
    if tok == "(":
        inner, pos = _parse_sequence(tokens, pos + 1, expr)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise MalformedProfileExpression(f"Malformed profile expression [{expr}]: missing ')'")
        return inner, pos + 1
    if tok in (")", "&", "|"):
        raise MalformedProfileExpression(f"Malformed profile expression [{expr}]")
    return (lambda active: tok in active), pos + 1
