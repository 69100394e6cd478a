"""Turning configuration file bytes into text, with the limits that keep hostile files cheap.

Every failure is an :class:`~config_server.errors.InvalidConfiguration` naming the file and, where
there is one, the line and column; a ``UnicodeDecodeError`` never escapes.
"""

from __future__ import annotations

import codecs
import re

from config_server.errors import InvalidConfiguration

__all__ = ["MAX_FILE_BYTES", "MAX_LINE_CHARS", "decode_latin1", "decode_unicode", "position"]

# Far above any real configuration file, far below what would hurt the server.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_LINE_CHARS = 1024 * 1024

# YAML 1.1 printable characters (also a fine definition of "text" for JSON and .properties).
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|\r|\n")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based ``(line, column)`` of ``text[index]``; ``\\r\\n``, ``\\r`` and ``\\n`` end lines."""
    before = text[:index]
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
    return line, index - line_start + 1


def decode_unicode(path: str, data: bytes) -> str:
    """Decode a YAML or JSON file: UTF-8, or UTF-16 when it starts with a byte-order mark.

    Rejects oversized files, undecodable bytes, control characters and overlong lines.
    """
    _check_size(path, data)
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        column = len(prefix) - (prefix.rfind(b"\n") + 1) + 1
        raise InvalidConfiguration(
            path, f"not valid {encoding.upper()} text ({exc.reason})", line=line, column=column
        ) from exc
    match = _NON_PRINTABLE.search(text)
    if match:
        line, column = position(text, match.start())
        raise InvalidConfiguration(
            path, f"control character U+{ord(match.group()):04X} is not allowed", line=line, column=column
        )
    _check_lines(path, text)
    return text


def decode_latin1(path: str, data: bytes) -> str:
    """Decode a ``.properties`` file as ISO-8859-1 (what Java does); rejects NUL bytes and limits."""
    _check_size(path, data)
    text = data.decode("iso-8859-1")
    nul = text.find("\x00")
    if nul >= 0:
        line, column = position(text, nul)
        raise InvalidConfiguration(path, "NUL byte: this looks like a binary file", line=line, column=column)
    _check_lines(path, text)
    return text


def _check_size(path: str, data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidConfiguration(path, f"file is larger than {MAX_FILE_BYTES} bytes")


def _check_lines(path: str, text: str) -> None:
    if len(text) <= MAX_LINE_CHARS:
        return
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise InvalidConfiguration(path, f"line is longer than {MAX_LINE_CHARS} characters", line=number)
