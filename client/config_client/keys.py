"""Flattened property keys (``a.b[0].c``): the one key grammar, shared with the server.

Pure functions, no I/O. A key is a sequence of tokens: names (``str``) and list indexes
(``int``). The server's ``.yml``/``.json`` renderings, the client's nested view, typed binding
and environment-variable names all read keys through :func:`parse_key`, so they cannot disagree.

The grammar, exactly:

* ``.`` separates names; every ``.`` starts a name, which may be empty (``a..b``, ``a.``).
* ``[n]`` is an index when ``n`` is 1 to 9 ASCII digits and the ``]`` is followed by the end of
  the key, a ``.`` or a ``[`` (Spring Cloud Config's ``PropertyNavigator`` accepts nothing else
  after an index). It may open the key (``[1].topic``, as Spring Boot's
  ``ConfigurationPropertyName`` reads it) and may follow a dot (``a.[0]`` is the empty name
  ``a.`` then index 0).
* Any other bracket stays part of a name: ``b[hello]``, ``a[0]b`` (index then text), ``a[-1]``,
  ``a[]``, an unclosed ``a[1``, and ``x[1234567890]`` (longer digit runs are names, so a hostile
  key cannot describe an enormous list).
* After an index, a bracket that is not an index starts the next name: ``a[0][x]`` is
  ``("a", 0, "[x]")``, the path Spring's YAML flattening writes as ``a[0][x]``.

:func:`format_key` is the inverse for every key it writes; the only spellings it does not give
back are leading zeros (``a[01]`` is index 1, as ``Integer.parseInt`` reads it) and ``a[0].[x]``
(written ``a[0][x]``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Token", "canonical", "child_key", "env_name", "format_key", "parse_key", "yaml_key"]

Token = str | int

_MAX_INDEX_DIGITS = 9


def parse_key(key: str) -> tuple[Token, ...]:
    """Split ``a.b[0].c`` into ``("a", "b", 0, "c")``; see the module docstring for the grammar."""
    tokens: list[Token] = []
    name: list[str] = []
    pending_name = False  # a '.' was seen, so an (even empty) name follows
    after_index = False  # the dot in "a[0].b" separates, it does not start an empty name
    length = len(key)
    i = 0
    while i < length:
        ch = key[i]
        if ch == ".":
            if name or pending_name or not after_index:
                tokens.append("".join(name))
            name, pending_name, after_index = [], True, False
            i += 1
        elif ch == "[":
            end = key.find("]", i + 1)
            if end != -1 and _is_index(key, i, end):
                if name or pending_name:
                    tokens.append("".join(name))
                tokens.append(int(key[i + 1 : end]))
                name, pending_name, after_index = [], False, True
                i = end + 1
            else:
                stop = length if end == -1 else end + 1
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


def _is_index(key: str, open_: int, close: int) -> bool:
    body = key[open_ + 1 : close]
    after = key[close + 1 : close + 2]
    return (
        0 < len(body) <= _MAX_INDEX_DIGITS and body.isascii() and body.isdigit() and after in ("", ".", "[")
    )


def format_key(tokens: Sequence[Token]) -> str:
    """The inverse of :func:`parse_key`: ``("a", 0, "b")`` gives ``a[0].b``.

    A name right after an index that starts with ``[`` is written without a dot (``a[0][x]``).
    """
    out: list[str] = []
    previous: Token | None = None
    for tok in tokens:
        if isinstance(tok, int):
            out.append(f"[{tok}]")
        elif not out or (isinstance(previous, int) and tok.startswith("[")):
            out.append(tok)
        else:
            out.append(f".{tok}")
        previous = tok
    return "".join(out)


def child_key(parent: str, name: str) -> str:
    """The flat key of ``name`` inside ``parent``, as Spring's YAML flattening joins them.

    ``child_key("", "a")`` is ``a``, ``child_key("a", "b")`` is ``a.b`` and a name that starts
    with ``[`` (a bracketed map key) takes no dot: ``child_key("a", "[x]")`` is ``a[x]``.
    """
    if not parent:
        return name
    if name.startswith("["):
        return parent + name
    return f"{parent}.{name}"


def yaml_key(tokens: Sequence[Token]) -> str:
    """The key that nesting ``tokens`` as YAML maps and lists flattens back to.

    Equal to :func:`format_key` except where YAML cannot say the same thing: leading empty names
    vanish (``(".a")`` reads back as ``a``) and a bracketed name after a name loses its dot
    (``a.[x]`` reads back as ``a[x]``). Renderers keep such keys whole instead of nesting them.
    """
    out = ""
    for tok in tokens:
        out = f"{out}[{tok}]" if isinstance(tok, int) else child_key(out, tok)
    return out


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
