"""The one merge of an Environment's property sources, and the nested (un-flattened) view of it.

Pure functions, no I/O. This is the precedence of Spring's
``EnvironmentController.convertToProperties``, and the server's ``.properties``/``.yml``/``.json``
renderings call :func:`merge_with_origins` rather than re-implementing it:

1. sources are walked from lowest to highest precedence (the wire lists highest first);
2. a plain key keeps the position where it was first seen and the value of the highest source;
3. indexed keys (``a.b[0]``, ``a.b[x]``: any key containing ``[``) are grouped by the text before
   their first ``[``; a source that defines any key of a group replaces that whole group (lists
   are never merged element by element), and all indexed keys come after the plain ones;
4. the legacy document-activation key ``spring.profiles`` is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from config_client.keys import Token, format_key, parse_key
from config_client.wire import PropertySource, Scalar

__all__ = ["merge_sources", "merge_with_origins", "unflatten"]

_DROPPED = "spring.profiles"


def merge_sources(sources: Iterable[PropertySource]) -> dict[str, Scalar]:
    """Merge property sources given highest precedence first into one ordered flat mapping."""
    return {key: value for key, (value, _) in merge_with_origins(sources).items()}


def merge_with_origins(sources: Iterable[PropertySource]) -> dict[str, tuple[Scalar, str]]:
    """:func:`merge_sources`, with the name of the source each value came from.

    Linear in the total number of keys.
    """
    combined: dict[str, tuple[Scalar, str]] = {}
    groups: dict[str, dict[str, tuple[Scalar, str]]] = {}
    for ps in reversed(tuple(sources)):
        local: dict[str, dict[str, tuple[Scalar, str]]] = {}
        for key, item in ps.source.items():
            bracket = key.find("[")
            if bracket < 0:
                combined[key] = (item.value, ps.name)
            else:
                local.setdefault(key[:bracket], {})[key] = (item.value, ps.name)
        # Replace, not update: the lower source's elements must not survive. Re-assigning an
        # existing group keeps its position, as Java's LinkedHashMap.put does.
        groups.update(local)
    combined.pop(_DROPPED, None)
    for group in groups.values():
        combined.update(group)
    return combined


_MISSING: Any = object()
_GAP: Any = object()


def unflatten(flat: Mapping[str, Scalar]) -> Mapping[str, Any]:
    """The nested, read-only view: ``a.b[0]`` becomes ``{"a": {"b": ("...",)}}``.

    Maps are ``MappingProxyType``, lists are tuples (gaps are ``None``). As in Spring's YAML
    rendering, a key that cannot take its place in the tree (``a.b`` is a value and ``a.b.c`` also
    exists, or ``a`` is both a map and a list) is kept whole under its nearest map:
    ``{"a": {"b": 1, "b.c": 2}}``. No key is ever lost.
    """
    leaves = {parse_key(k) for k in flat}
    # An index beyond the number of keys can only describe gaps; refusing it bounds memory.
    limit = 2 * len(flat) + 8
    root: dict[str, Any] = {}
    for key, value in flat.items():
        _place(root, parse_key(key), value, leaves, limit)
    frozen: Mapping[str, Any] = _freeze(root)
    return frozen


def _place(
    root: dict[str, Any], tokens: tuple[Token, ...], value: Scalar, leaves: set[tuple[Token, ...]], limit: int
) -> None:
    node: dict[str, Any] | list[Any] = root
    anchor, anchor_depth = root, 0
    for depth, tok in enumerate(tokens):
        if isinstance(node, dict):
            if not isinstance(tok, str):
                break
            anchor, anchor_depth = node, depth
            existing = node.get(tok, _MISSING)
        else:
            if not isinstance(tok, int) or tok >= limit:
                break
            node.extend([_GAP] * (tok + 1 - len(node)))
            existing = node[tok]
        if depth == len(tokens) - 1:
            if existing is not _MISSING and existing is not _GAP:
                break
            _set(node, tok, value)
            return
        want: type = list if isinstance(tokens[depth + 1], int) else dict
        if tokens[: depth + 1] in leaves:
            break  # this prefix is itself a value, so the rest stays a compound key
        if existing is _MISSING or existing is _GAP:
            existing = want()
            _set(node, tok, existing)
        elif not isinstance(existing, want):
            break
        node = existing
    anchor.setdefault(format_key(tokens[anchor_depth:]), value)


def _set(node: dict[str, Any] | list[Any], tok: Token, value: Any) -> None:
    if isinstance(node, dict):
        node[str(tok)] = value
    else:
        node[int(tok)] = value


def _freeze(node: Any) -> Any:
    if isinstance(node, dict):
        return MappingProxyType({k: _freeze(v) for k, v in node.items()})
    if isinstance(node, list):
        return tuple(None if v is _GAP else _freeze(v) for v in node)
    return node
