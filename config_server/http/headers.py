"""HTTP request headers the server reads: conditional requests, content negotiation, ``Prefer`` (pure)."""

from __future__ import annotations

import codecs

from config_client.wire import V2_MEDIA_TYPE

__all__ = ["accepted_charset", "etag_matches", "parse_prefer_wait", "wants_v2"]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 ``If-None-Match`` (weak comparison): ``*`` or any listed tag equal to ``etag``."""
    if not if_none_match:
        return False
    want = etag.removeprefix("W/")
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/") == want:
            return True
    return False


def wants_v2(accept: str | None) -> bool:
    """Whether ``Accept`` asks for the V2 (``{value, origin}``) environment shape."""
    if not accept:
        return False
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() != V2_MEDIA_TYPE:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return True
    return False


def accepted_charset(header: str | None) -> str:
    """The charset a plain-text resource is served in: the first of ``Accept-Charset`` that Python
    knows (its canonical name), else UTF-8. Weights are not ranked, as Spring does not rank them."""
    if header:
        first = header.split(",")[0].split(";")[0].strip()
        try:
            return codecs.lookup(first).name
        except LookupError:
            pass
    return "utf-8"


def parse_prefer_wait(header: str | None, *, cap: float = 120.0) -> float | None:
    """The ``wait`` preference of an RFC 7240 ``Prefer`` header, in seconds, capped at ``cap``.

    Accepts ``wait=30`` alone or among other preferences (``respond-async, wait=10``), any
    case, whitespace around ``=`` and ``,``, a quoted value (``wait="5"``), preference
    parameters after ``;``, and a decimal fraction. The first ``wait`` counts (RFC 7240 §2).
    Returns None when there is no header, no ``wait``, or its value is not a non-negative
    number (several ``Prefer`` headers may be joined with ``,`` by the caller).
    """
    if not header:
        return None
    for preference in _split_unquoted(header, ","):
        name, eq, value = _split_unquoted(preference, ";")[0].partition("=")
        if name.strip().lower() != "wait":
            continue
        if not eq:
            return None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].strip()
        if not value or not value.replace(".", "", 1).isdigit() or not value.isascii():
            return None
        return min(float(value), cap)
    return None


def _split_unquoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (RFC 9110 quoted-string with ``\\`` escapes)."""
    parts: list[str] = []
    start, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts
