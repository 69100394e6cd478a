"""``.properties`` files as Spring Boot reads them (``OriginTrackedPropertiesLoader``).

* ISO-8859-1 text; ``\\uXXXX`` escapes (a malformed one is an error with its line); ``\\t \\r \\n
  \\f`` escapes; a backslash before any other character yields that character, which then never
  acts as a separator, whitespace or comma.
* A line whose first non-blank character is ``#`` or ``!`` is a comment. A backslash at the end of
  a line continues the entry on the next line, whose leading blanks are dropped.
* The key ends at the first unescaped ``=`` or ``:``, or at blanks (which may be followed by one
  ``=`` or ``:``); the value's leading blanks are dropped, trailing ones kept. Keys are trimmed
  as Java trims; an empty key is ignored. A repeated key keeps its first position, last value.
* ``key[]=a,b,c`` becomes ``key[0]``, ``key[1]``, ``key[2]`` (split on unescaped commas).
* Documents are separated by a line ``#---`` or ``!---`` (no leading blanks, trailing blanks
  allowed). As in Boot, such a line directly after a comment with the same prefix is an ordinary
  comment, and a comment that comes before the first entry of a new document cancels the split
  (the new document continues the previous one).

All values are strings. Origins are ``"line:column"`` (1-based) of the value's first character
in the file, or of where it would start when it is empty. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration

__all__ = ["load_properties"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANKS = " \t\f"
_SEPARATOR = re.compile(r"[#!]---[ \t\f]*\Z")
# On the "masked" line (escaped characters replaced by NUL, which cannot occur in the input):
# the key, the blanks and single = or : that end it, and the blanks before the value.
_KEY = re.compile(r"([^=: \t\f]*)[ \t\f]*[=:]?[ \t\f]*")
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "f": "\f"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JAVA_TRIM = "".join(chr(c) for c in range(33))  # String.trim() drops every char <= U+0020


def load_properties(path: str, text: str) -> list[dict[str, PropertyValue]]:
    """Parse decoded ``.properties`` text into one property map per non-empty document.

    Raises :class:`InvalidConfiguration` with the line and column of a malformed escape.
    """
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the file's final line break does not start another line
    documents: list[dict[str, PropertyValue]] = []
    document: dict[str, PropertyValue] = {}
    last_comment_prefix: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        body = line.lstrip(_BLANKS)
        if body[:1] in ("#", "!"):
            if body[0] != last_comment_prefix and body is line and _SEPARATOR.match(body):
                if document:
                    documents.append(document)
                document = {}
            else:
                if not document and documents:
                    document = documents.pop()
                last_comment_prefix = body[0]
            index += 1
            continue
        last_comment_prefix = None
        entry, index = _logical_line(lines, index)
        _load_entry(path, entry, document)
    if document:
        documents.append(document)
    return documents


@dataclass(frozen=True, slots=True)
class _Piece:
    line: int  # 1-based
    column: int  # 0-based column of the piece's first character in its line
    start: int  # index of that character in the joined logical line


@dataclass(frozen=True, slots=True)
class _Entry:
    text: str
    pieces: tuple[_Piece, ...]

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column of ``text[index]`` (or of the end of the entry)."""
        piece = next(p for p in reversed(self.pieces) if p.start <= index)
        return piece.line, piece.column + index - piece.start + 1


def _logical_line(lines: list[str], index: int) -> tuple[_Entry, int]:
    """Join a line with its continuation lines; returns the entry and the next line's index."""
    parts: list[str] = []
    pieces: list[_Piece] = []
    length = 0
    while True:
        line = lines[index]
        body = line.lstrip(_BLANKS)
        trailing = len(body) - len(body.rstrip("\\"))
        continued = trailing % 2 == 1
        if continued:
            body = body[:-1]
        pieces.append(_Piece(index + 1, len(line) - len(line.lstrip(_BLANKS)), length))
        parts.append(body)
        length += len(body)
        index += 1
        if not continued or index >= len(lines):
            return _Entry("".join(parts), tuple(pieces)), index


def _load_entry(path: str, entry: _Entry, document: dict[str, PropertyValue]) -> None:
    decoded, masked, source = _unescape(path, entry)
    match = _KEY.match(masked)
    assert match is not None  # every part of the pattern is optional
    key = _text(path, entry, decoded[: match.end(1)], entry.pieces[0].line).strip(_JAVA_TRIM)
    start = match.end()
    if not key:
        return
    if not key.endswith("[]"):
        document[key] = _value(path, entry, decoded, source, start, len(decoded))
        return
    # Boot's list shorthand: split on unescaped commas; a trailing comma adds nothing.
    key, position, number = key[:-2], start, 0
    while True:
        while position < len(masked) and masked[position] in _BLANKS:
            position += 1
        end = masked.find(",", position)
        end = len(masked) if end < 0 else end
        document[f"{key}[{number}]"] = _value(path, entry, decoded, source, position, end)
        number += 1
        position = end + 1
        if position >= len(masked):
            return


def _value(path: str, entry: _Entry, decoded: str, source: list[int], start: int, end: int) -> PropertyValue:
    line, column = entry.position(source[start] if start < len(source) else len(entry.text))
    return PropertyValue(_text(path, entry, decoded[start:end], line), f"{line}:{column}")


def _unescape(path: str, entry: _Entry) -> tuple[str, str, list[int]]:
    """The decoded entry, the same with escaped characters masked as NUL, and each one's source index."""
    text = entry.text
    if "\\" not in text:
        return text, text, list(range(len(text)))
    decoded: list[str] = []
    masked: list[str] = []
    source: list[int] = []
    index = 0
    while index < len(text):
        char = text[index]
        source.append(index)
        if char != "\\":
            decoded.append(char)
            masked.append(char)
            index += 1
            continue
        escaped = text[index + 1 : index + 2]
        if escaped == "u":
            digits = text[index + 2 : index + 6]
            if not _HEX4.fullmatch(digits):
                line, column = entry.position(index)
                raise InvalidConfiguration(
                    path, "malformed \\uXXXX escape (needs four hex digits)", line=line, column=column
                )
            decoded.append(chr(int(digits, 16)))
            index += 6
        else:
            decoded.append(_ESCAPES.get(escaped, escaped))
            index += 2
        masked.append("\x00")
    return "".join(decoded), "".join(masked), source


def _text(path: str, entry: _Entry, text: str, line: int) -> str:
    """Join UTF-16 surrogate pairs written as two ``\\u`` escapes; a lone surrogate is an error."""
    if not _SURROGATE.search(text):
        return text
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise InvalidConfiguration(path, "\\u escape is half of a UTF-16 surrogate pair", line=line) from exc
