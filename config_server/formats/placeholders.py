"""Spring's non-strict ``${key}`` / ``${key:default}`` placeholder resolution (pure, no I/O).

Used by the alternative renderings (.properties over the whole text, .yml/.json per string
value) and by plain-text resources. Values come only from the environment's own property
sources (``lookup_from_sources``); never from ``os.environ`` or anything else on the server.

Rules (``S/support/EnvironmentPropertySource.java`` and Spring's ``PropertyPlaceholderHelper``):

* ``${key}`` is replaced by the value of ``key`` (surrounding whitespace in the key is ignored);
  the value is itself resolved, recursively.
* ``${key:default}`` falls back to ``default`` (itself resolved) when ``key`` is missing; the
  default is everything after the first top-level ``:``, so it may contain more colons.
* Placeholders nest: ``${a:${b}}``, ``${${name}}``; braces inside a placeholder must balance.
* Unresolvable placeholders are left exactly as written (non-strict); so are circular ones
  (``a=${b}``, ``b=${a}``): every key on the cycle renders as its own placeholder text.
* ``\\${`` (one or two backslashes, the second form being how JSON text spells the first) is an
  escape and yields a literal ``${``.

Hostile input is bounded: nesting deeper than ``MAX_DEPTH`` or an expansion that grows the text by
more than ``MAX_EXPANSION`` characters raises ``InvalidConfiguration`` instead of exhausting the
stack or memory. Each key is resolved at most once, so work stays linear; ``PlaceholderResolver``
extends both the cache and the growth bound over many texts (the values of one rendering).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from config_client.wire import PropertySource, Scalar

from config_server.errors import InvalidConfiguration

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANSION",
    "PlaceholderResolver",
    "java_string",
    "lookup_from_sources",
    "resolve_placeholders",
]

MAX_DEPTH = 64
"""Deepest chain of nested placeholders (in the text or through values) that is resolved."""

MAX_EXPANSION = 8 * 1024 * 1024
"""How many characters resolution may add to a text before it is treated as hostile."""

# Spring masks "\${" and "\\${" alike (regex [\\]{1,2}\$\{); greedy, like Java's.
_TOKEN = re.compile(r"\\{1,2}\$\{|\$\{")
_ESCAPE = re.compile(r"\\{1,2}\$\{")
_BRACE = re.compile(r"[{}]")
_COLON_OR_BRACE = re.compile(r"[:{]")


def resolve_placeholders(text: str, lookup: Callable[[str], str | None]) -> str:
    """Resolve every ``${...}`` in ``text`` using ``lookup`` (Spring's non-strict rules).

    ``lookup`` returns a key's raw value or ``None`` when the key is unknown; it is called at
    most once per key. Raises ``InvalidConfiguration`` when nesting exceeds ``MAX_DEPTH`` or the
    result would exceed the input by more than ``MAX_EXPANSION`` characters.
    """
    return PlaceholderResolver(lookup).resolve(text)


def lookup_from_sources(sources: Sequence[PropertySource]) -> Callable[[str], str | None]:
    """A lookup over ``sources`` (highest precedence first): the first source that has the key wins.

    Values are rendered as Java's ``toString`` would (``True`` -> ``"true"``, ``1.0`` -> ``"1.0"``).
    """
    frozen = tuple(sources)

    def lookup(key: str) -> str | None:
        for source in frozen:
            found = source.source.get(key)
            if found is not None:
                return java_string(found.value)
        return None

    return lookup


def java_string(value: Scalar) -> str:
    """``value`` as Java's ``toString`` renders it (Spring's .properties output and lookups).

    Booleans are ``true``/``false``; integers are plain digits; floats follow
    ``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.0E-5``, ``NaN``, ``Infinity``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    return str(value)


def _java_double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    # repr() gives the shortest digits that round-trip, as Double.toString does (JDK >= 19).
    _, digit_tuple, exponent = Decimal(repr(magnitude)).as_tuple()
    assert isinstance(exponent, int)  # finite by the checks above
    point = len(digit_tuple) + exponent  # where the decimal point falls within the digits
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    if 1e-3 <= magnitude < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    fraction = digits[1:] or "0"
    return f"{sign}{digits[0]}.{fraction}E{point - 1}"


class _Circular(Exception):
    """Raised on re-entering a key that is still being resolved; carries the keys on the cycle."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_CIRCULAR = object()


class PlaceholderResolver:
    """Resolves many texts against one lookup, sharing one key cache and one expansion budget.

    Use it to resolve each value of a rendering: keys are looked up once for all values, and
    the total growth over all texts is bounded by ``max_expansion`` (so a value that expands
    to megabytes cannot be repeated across thousands of keys). Not thread-safe.
    """

    def __init__(self, lookup: Callable[[str], str | None], *, max_expansion: int = MAX_EXPANSION) -> None:
        self._lookup = lookup
        self._max_expansion = max_expansion
        self._remaining = max_expansion
        self._limit = 0  # longest string the current resolve() may build
        self._resolved: dict[str, object] = {}  # key -> resolved str, None (unknown) or _CIRCULAR
        self._in_progress: set[str] = set()
        self._depth = 0

    def resolve(self, text: str) -> str:
        """``text`` with its placeholders resolved; raises ``InvalidConfiguration`` as above."""
        if "${" not in text:
            return text
        self._limit = len(text) + self._remaining
        result = self._expand_all(text)
        self._remaining -= max(0, len(result) - len(text))
        return result

    def _expand_all(self, text: str) -> str:
        return self._expand(text, 0, len(text), _match_braces(text))

    def _expand(self, text: str, lo: int, hi: int, braces: dict[int, int]) -> str:
        out: list[str] = []
        size = 0
        pos = lo
        while pos < hi:
            token = _TOKEN.search(text, pos, hi)
            if token is None:
                out.append(text[pos:hi])
                break
            out.append(text[pos : token.start()])
            size += token.start() - pos
            pos = token.end()
            if text[token.start()] == "\\":
                out.append("${")
                size += 2
                continue
            close = braces.get(token.end() - 1)
            if close is None or close >= hi:
                # Unterminated: keep "${" literally and go on resolving what follows.
                out.append("${")
                size += 2
                continue
            piece = self._placeholder(text, token.end(), close, braces)
            out.append(piece)
            size += len(piece)
            if size > self._limit:
                raise InvalidConfiguration(
                    f"placeholder ${{{text[token.end() : close][:80]}}}",
                    f"resolution adds more than {self._max_expansion} characters",
                )
            pos = close + 1
        return "".join(out)

    def _placeholder(self, text: str, lo: int, hi: int, braces: dict[int, int]) -> str:
        """Resolve the placeholder whose body is ``text[lo:hi]`` (between ``${`` and ``}``)."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise InvalidConfiguration(
                    f"placeholder ${{{text[lo:hi][:80]}}}",
                    f"placeholders nest deeper than {MAX_DEPTH} levels",
                )
            separator = _top_level_colon(text, lo, hi, braces)
            key = self._expand(text, lo, hi if separator is None else separator, braces).strip()
            value = self._value_of(key)
            if isinstance(value, str):
                return value
            if value is None and separator is not None:
                return self._expand(text, separator + 1, hi, braces)
            return _ESCAPE.sub("${", text[lo - 2 : hi + 1])
        finally:
            self._depth -= 1

    def _value_of(self, key: str) -> object:
        """The key's fully resolved value, ``None`` when unknown, ``_CIRCULAR`` when on a cycle."""
        if key in self._resolved:
            return self._resolved[key]
        if key in self._in_progress:
            raise _Circular(key)
        raw = self._lookup(key)
        if raw is None or "${" not in raw:
            self._resolved[key] = raw
            return raw
        self._in_progress.add(key)
        try:
            result: object = self._expand_all(raw)
        except _Circular as cycle:
            # Every key the exception passes through lies on the cycle; all stay unresolved.
            self._resolved[key] = _CIRCULAR
            if cycle.key != key:
                raise
            result = _CIRCULAR
        finally:
            self._in_progress.discard(key)
        self._resolved[key] = result
        return result


def _match_braces(text: str) -> dict[int, int]:
    """Map each ``{`` to its matching ``}`` (Spring counts every brace when finding a placeholder end)."""
    matches: dict[int, int] = {}
    stack: list[int] = []
    for brace in _BRACE.finditer(text):
        if brace.group() == "{":
            stack.append(brace.start())
        elif stack:
            matches[stack.pop()] = brace.start()
    return matches


def _top_level_colon(text: str, lo: int, hi: int, braces: dict[int, int]) -> int | None:
    pos = lo
    while (found := _COLON_OR_BRACE.search(text, pos, hi)) is not None:
        if found.group() == ":":
            return found.start()
        # Skip a nested "{...}" whole: a colon inside it belongs to the nested placeholder.
        pos = braces.get(found.start(), found.start()) + 1
    return None
