"""Moving the ``{cipher}`` values of a configuration file to the primary key (key rotation).

The file's text is rewritten in place: only the spans holding ``{cipher}`` values change, so
comments, quoting, key order and layout survive byte for byte. Values already encrypted with the
primary key are left alone, so running it twice changes nothing and diffs stay small. Each
format is scanned with its own lexical rules (YAML through PyYAML's node positions, Java
``.properties`` logical lines, JSON string tokens); nothing is re-serialised. Pure: text in,
text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

from config_server.crypto.environment import CIPHER
from config_server.crypto.keyring import KeyRing
from config_server.errors import CryptoError, InvalidConfiguration, InvalidRequest

__all__ = ["KINDS", "reencrypt_text"]

KINDS = ("yml", "yaml", "properties", "json")
_STR_TAG = "tag:yaml.org,2002:str"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Span:
    """One ``{cipher}`` value: where it sits in the text and how to write a replacement there."""

    start: int
    end: int
    value: str
    render: Callable[[str], str]


def reencrypt_text(text: str, ring: KeyRing, *, kind: str, name: str = "<text>") -> tuple[str, int]:
    """Rewrite every ``{cipher}`` value in a file's text to the ring's primary key.

    ``kind`` is the file extension (``yml``, ``yaml``, ``properties`` or ``json``); ``name``
    only labels errors. Returns the new text and how many values were re-encrypted.
    Raises InvalidRequest for another kind, InvalidConfiguration when the text does not parse,
    and a CryptoError naming the line when a value cannot be decrypted (nothing is rewritten
    then).
    """
    scanners: dict[str, Callable[[str, str], Iterator[_Span]]] = {
        "yml": _yaml_spans,
        "yaml": _yaml_spans,
        "properties": _properties_spans,
        "json": _json_spans,
    }
    scan = scanners.get(kind.lower().lstrip("."))
    if scan is None:
        raise InvalidRequest(f"Cannot re-encrypt a {kind!r} file; expected one of {', '.join(KINDS)}")
    pieces: list[str] = []
    last = count = 0
    for span in sorted(scan(text, name), key=lambda s: s.start):
        body = span.value[len(CIPHER) :]
        if ring.key_alias(body) == ring.primary and ring.primary is not None:
            continue
        try:
            new = CIPHER + ring.reencrypt(body)
        except CryptoError as exc:
            line = text.count("\n", 0, span.start) + 1
            raise type(exc)(f"{name}, line {line}: {exc.message}") from exc
        pieces += [text[last : span.start], span.render(new)]
        last = span.end
        count += 1
    pieces.append(text[last:])
    return "".join(pieces), count


# --- YAML -------------------------------------------------------------------------------------


def _yaml_spans(text: str, name: str) -> Iterator[_Span]:
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidConfiguration(
            name,
            str(problem),
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
        ) from exc
    seen: set[int] = set()
    for document in documents:
        yield from _yaml_values(document, text, name, seen)


def _yaml_values(node: yaml.Node | None, text: str, name: str, seen: set[int]) -> Iterator[_Span]:
    if node is None or id(node) in seen:  # an alias (*ref) is the same node object; rewrite it once
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            yield from _yaml_values(value, text, name, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_values(item, text, name, seen)
    elif isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG and node.value.startswith(CIPHER):
        start, end = node.start_mark.index, node.end_mark.index
        if node.style not in ("'", '"'):
            raise InvalidConfiguration(
                name, "only quoted {cipher} values can be re-encrypted", line=node.start_mark.line + 1
            )
        render = _yaml_double if node.style == '"' or not node.value.isprintable() else _yaml_single
        yield _Span(start, end, node.value, render)


def _yaml_single(value: str) -> str:
    if not value.isprintable():
        return _yaml_double(value)
    return "'" + value.replace("'", "''") + "'"


def _yaml_double(value: str) -> str:
    # JSON's escapes are a subset of YAML's double-quoted ones.
    return json.dumps(value, ensure_ascii=False)


# --- .properties ------------------------------------------------------------------------------

_WS = " \t\f"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _properties_spans(text: str, name: str) -> Iterator[_Span]:
    pos, n = 0, len(text)
    while pos < n:
        line_start = pos
        while pos < n and text[pos] in _WS:
            pos += 1
        if pos >= n:
            return
        if text[pos] in "\r\n" or text[pos] in "#!":
            pos = _line_end(text, pos)
            pos = _skip_newline(text, pos)
            continue
        chars, end = _logical_line(text, pos)
        value_at = _value_start(chars)
        start = chars[value_at][1] if value_at < len(chars) else end
        value = _unescape(chars[value_at:], name, text.count("\n", 0, line_start) + 1)
        if value.startswith(CIPHER):
            yield _Span(start, end, value, _properties_escape)
        pos = _skip_newline(text, end)


def _line_end(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] not in "\r\n":
        pos += 1
    return pos


def _skip_newline(text: str, pos: int) -> int:
    if text.startswith("\r\n", pos):
        return pos + 2
    return pos + 1 if pos < len(text) else pos


def _logical_line(text: str, pos: int) -> tuple[list[tuple[str, int]], int]:
    """The logical line's characters with their indexes (continuations folded away), and its end."""
    chars: list[tuple[str, int]] = []
    while True:
        end = _line_end(text, pos)
        segment = text[pos:end]
        trailing = len(segment) - len(segment.rstrip("\\"))
        if trailing % 2 == 1 and end < len(text):  # an odd run of backslashes continues the line
            chars += [(c, i) for i, c in enumerate(segment[:-1], pos)]
            pos = _skip_newline(text, end)
            while pos < len(text) and text[pos] in _WS:
                pos += 1
            continue
        chars += [(c, i) for i, c in enumerate(segment, pos)]
        return chars, end


def _value_start(chars: list[tuple[str, int]]) -> int:
    i, n = 0, len(chars)
    while i < n:
        c = chars[i][0]
        if c == "\\":
            i += 2
            continue
        if c in "=:" or c in _WS:
            break
        i += 1
    while i < n and chars[i][0] in _WS:
        i += 1
    if i < n and chars[i][0] in "=:":
        i += 1
        while i < n and chars[i][0] in _WS:
            i += 1
    return i


def _unescape(chars: list[tuple[str, int]], name: str, line: int) -> str:
    out: list[str] = []
    i, n = 0, len(chars)
    while i < n:
        c = chars[i][0]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = chars[i + 1][0]
        if e == "u":
            digits = "".join(ch for ch, _ in chars[i + 2 : i + 6])
            if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise InvalidConfiguration(name, "malformed \\uXXXX escape", line=line)
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(_ESCAPES.get(e, e))
            i += 2
    return "".join(out)


def _properties_escape(value: str) -> str:
    out: list[str] = []
    for i, c in enumerate(value):
        if c == "\\":
            out.append("\\\\")
        elif c in "\t\n\r\f":
            out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[c])
        elif c == " " and i == 0:
            out.append("\\ ")
        elif not " " <= c <= "~":
            out.append("".join(f"\\u{unit:04x}" for unit in _utf16_units(c)))
        else:
            out.append(c)
    return "".join(out)


def _utf16_units(c: str) -> list[int]:
    raw = c.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(raw[k : k + 2], "big") for k in range(0, len(raw), 2)]


# --- JSON -------------------------------------------------------------------------------------


def _json_spans(text: str, name: str) -> Iterator[_Span]:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidConfiguration(name, exc.msg, line=exc.lineno, column=exc.colno) from exc
    # In valid JSON every quote outside a string opens one, so this sees exactly the strings.
    for m in _JSON_STRING.finditer(text):
        after = m.end()
        while after < len(text) and text[after] in " \t\r\n":
            after += 1
        if after < len(text) and text[after] == ":":
            continue  # an object key, not a value
        value = json.loads(m.group(0))
        if isinstance(value, str) and value.startswith(CIPHER):
            yield _Span(m.start(), m.end(), value, _yaml_double)
