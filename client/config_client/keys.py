"""Flattened property keys (``a.b[0].c``): parsing, formatting and Spring's relaxed spellings.

Pure functions, no I/O. A key is a sequence of tokens: names (``str``) and list indexes
(``int``). A bracket holding anything but digits (``b[hello]``) is not an index: like Spring's
renderers, it stays part of the name.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Token", "canonical", "env_name", "format_key", "parse_key"]

Token = str | int

# Longer digit runs are names, not indexes: nobody writes a list that long, and it keeps a
# hostile key from turning into an enormous integer.
_MAX_INDEX_DIGITS = 9


def parse_key(key: str) -> tuple[Token, ...]:
    """Split ``a.b[0].c`` into ``("a", "b", 0, "c")``; a non-numeric ``[x]`` stays in the name."""
    tokens: list[Token] = []
    name: list[str] = []
    pending_name = False  # a '.' was seen, so an (even empty) name follows
    after_index = False  # the dot in "a[0].b" separates, it does not start an empty name
    i = 0
    while i < len(key):
        ch = key[i]
        if ch == ".":
            if name or pending_name or not after_index:
                tokens.append("".join(name))
            name, pending_name, after_index = [], True, False
            i += 1
        elif ch == "[":
            end = key.find("]", i + 1)
            inner = key[i + 1 : end] if end != -1 else ""
            if end != -1 and inner.isascii() and inner.isdigit() and len(inner) <= _MAX_INDEX_DIGITS:
                if name or pending_name:
                    tokens.append("".join(name))
                tokens.append(int(inner))
                name, pending_name, after_index = [], False, True
                i = end + 1
            else:
                stop = len(key) if end == -1 else end + 1
                name.append(key[i:stop])
                pending_name, after_index = True, False
                i = stop
        else:
            name.append(ch)
            pending_name, after_index = True, False
            i += 1
    if name or pending_name or not tokens:
        tokens.append("".join(name))
    return tuple(tokens)


def format_key(tokens: Sequence[Token]) -> str:
    """The inverse of :func:`parse_key`: ``("a", 0, "b")`` gives ``a[0].b``."""
    out: list[str] = []
    for tok in tokens:
        if isinstance(tok, int):
            out.append(f"[{tok}]")
        else:
            out.append(f".{tok}" if out else tok)
    return "".join(out)


def canonical(name: str) -> str:
    """Spring's relaxed form of one name: lower case without ``-`` and ``_`` (dbUrl ~ db-url ~ db_url)."""
    return name.replace("-", "").replace("_", "").lower()


def env_name(key: str) -> str:
    """The environment variable that overrides ``key`` (Spring Boot's rule).

    Dots become ``_``, dashes are dropped, letters are upper-cased and an index ``[n]`` becomes
    ``_n_``: ``db.url`` -> ``DB_URL``, ``my.list[0]`` -> ``MY_LIST_0_``,
    ``my.service[0].other`` -> ``MY_SERVICE_0_OTHER``, ``server.max-threads`` -> ``SERVER_MAXTHREADS``.
    """
    out = ""
    for tok in parse_key(key):
        if isinstance(tok, int):
            out += f"{tok}_" if out.endswith("_") or not out else f"_{tok}_"
        else:
            part = tok.replace("-", "").replace(".", "_").upper()
            out += part if (out.endswith("_") or not out) else f"_{part}"
    return out
