"""Flattening nested configuration data into Spring's dotted keys.

Spring's ``YamlProcessor.getFlattenedMap`` rules, shared by the YAML and JSON loaders and by any
backend that receives nested data (Vault secrets, server overrides)::

    {"a": {"b": 1}}            -> a.b = 1
    {"a": [1, [2, 3]]}         -> a[0] = 1, a[1][0] = 2, a[1][1] = 3
    {"a": [{"b": 1}]}          -> a[0].b = 1
    {"a": {"[x.y]": 1}}        -> a[x.y] = 1        (a key starting with "[" takes no dot)
    {"a": {1: "t", True: 2}}   -> a[1] = t, a[true] = 2   (non-string keys are bracketed)
    {"a": None}                -> a = ""
    {"a": []}                  -> a = ""
    {"a": {}}                  -> (no key)
    [1, 2] (not a mapping)     -> document[0] = 1, document[1] = 2

Key order is the order of the input. Values keep their scalar types (str, int, float, bool).
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config_client.keys import child_key
from config_client.wire import PropertyValue, Scalar

__all__ = ["Located", "flatten", "key_segment", "scalar_text"]

# Spring puts a non-mapping document under this key (YamlProcessor.asMap).
DOCUMENT_KEY = "document"


@dataclass(frozen=True, slots=True)
class Located:
    """A parsed value (scalar, ``None`` or a collection) and where it starts, ``"line:column"``."""

    value: Any
    origin: str


def scalar_text(value: Scalar | None) -> str:
    """A scalar as Java's ``String.valueOf`` would write it (``true``, not ``True``; null is ``""``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def key_segment(key: Any) -> str:
    """The path segment for a mapping key: strings as they are, anything else as ``[key]``.

    Raises ``TypeError`` for keys Spring cannot name (``None``, collections).
    """
    if isinstance(key, str):
        return key
    if key is None or not isinstance(key, (int, float)):
        raise TypeError(f"unsupported mapping key {key!r}")
    return f"[{scalar_text(key)}]"


def flatten(data: Any) -> dict[str, PropertyValue]:
    """Flatten nested mappings and sequences into ``{dotted.key[0]: PropertyValue}``.

    ``data`` is a mapping (anything else is placed under the key ``document``), whose values are
    nested mappings, sequences, scalars or ``None``; any of them may be wrapped in :class:`Located`
    to carry an origin into the resulting :class:`PropertyValue`. Shared references are expanded
    each time they occur, so callers parsing untrusted input must bound the expanded size first
    (the YAML loader does). Raises ``TypeError`` for a key or value of an unsupported type.
    """
    raw = data.value if isinstance(data, Located) else data
    if not isinstance(raw, Mapping):
        data = {DOCUMENT_KEY: data}
    out: dict[str, PropertyValue] = {}
    _flatten_into(out, data, "")
    return out


def _flatten_into(out: dict[str, PropertyValue], node: Any, path: str) -> None:
    origin: str | None = None
    if isinstance(node, Located):
        origin, node = node.origin, node.value
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten_into(out, value, child_key(path, key_segment(key)))
    elif isinstance(node, Sequence) and not isinstance(node, (str, bytes)):
        if not node:
            out[path] = PropertyValue("", origin)
        for index, item in enumerate(node):
            _flatten_into(out, item, f"{path}[{index}]")
    elif node is None:
        out[path] = PropertyValue("", origin)
    elif isinstance(node, (str, int, float)):  # bool is an int
        out[path] = PropertyValue(node, origin)
    else:
        raise TypeError(f"unsupported value of type {type(node).__name__} at {path or 'the top level'!r}")
