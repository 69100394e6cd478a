"""The merged renderings of an environment: ``.properties``, ``.yml`` and ``.json`` (pure, no I/O).

Follows Spring's ``EnvironmentController`` (reference §4.3):

Keys and precedence are not defined here: the client distribution holds the one key grammar
(``config_client.keys``) and the one merge (``config_client.merge``), so what a client builds from
an Environment and what these renderings show cannot drift apart.

1. ``merge_for_rendering`` folds the property sources into one flat map with
   ``config_client.merge`` (lowest precedence first; a non-indexed key keeps its first position
   and takes the highest value; indexed keys are replaced group by group, so arrays are never
   merged element-wise; ``spring.profiles`` is dropped).
2. ``.properties`` is ``key: value`` lines; placeholders are resolved over the whole text.
3. ``.yml`` and ``.json`` un-flatten the map along ``config_client.keys.parse_key`` (``.`` nests
   maps, ``[n]`` builds lists with ``null`` in the gaps, a non-numeric ``[x]`` stays part of its
   key) and resolve placeholders per string value. A key that is both a value and a prefix
   (``a=1``, ``a.b=2``) keeps the longer key whole at that level (``a: 1`` and ``a.b: 2``),
   whichever of the two comes first; likewise a value or map and a list under one name (``a: 1``
   in one file, ``a: [x]`` in another) give ``a`` and ``a[0]``. Where Spring fails (empty segments
   ``a..b``, a leading ``[1]``, text after an index ``a[0]b``) the key is kept as literal names
   instead, so nothing in the environment is silently dropped; a key that nested YAML would read
   back as a different key (``.a``, ``a.[x]``), or a second spelling of a path already taken
   (``a[01]`` beside ``a[1]``), is kept whole at the top level.

Cost is linear in the number of keys; PyYAML's pure-Python emitter (kept because libyaml escapes
non-BMP characters such as emoji) takes roughly 20 ms per 1000 keys, so a caller serving very
large environments may want to render off the event loop.

Errors: ``InvalidConfiguration`` (naming the property source) for keys that cannot be shaped into
YAML/JSON: a list element that is both a value and a structure, a list index that would create an
unreasonable number of empty elements, or nesting deeper than ``MAX_NESTING``; and from
placeholder resolution (see ``placeholders``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import yaml
from config_client.keys import format_key, parse_key, yaml_key
from config_client.merge import merge_sources, merge_with_origins
from config_client.wire import PropertySource, Scalar

from config_server.errors import InvalidConfiguration
from config_server.formats.placeholders import (
    PlaceholderResolver,
    java_string,
    lookup_from_sources,
    resolve_placeholders,
)

__all__ = [
    "MAX_NESTING",
    "java_string",
    "merge_for_rendering",
    "render_json",
    "render_properties",
    "render_yaml",
]

MAX_NESTING = 100
"""Deepest structure a key may describe (maps and list levels); deeper keys are rejected."""

_LIST_SLACK = 10_000
"""Empty list elements (gaps) allowed beyond one per property, before an index counts as hostile."""


def merge_for_rendering(sources: Sequence[PropertySource]) -> dict[str, Scalar]:
    """Fold ``sources`` (highest precedence first) into the flat map the renderings show (§4.3).

    Non-indexed keys keep the position where first seen (iterating lowest to highest precedence)
    and the value of the highest source that has them. Keys containing ``[`` are grouped by the
    text before the first ``[``: the highest source that defines any key of a group supplies the
    whole group. Indexed keys follow the non-indexed ones; ``spring.profiles`` is removed.
    """
    return merge_sources(sources)


def render_properties(sources: Sequence[PropertySource], *, resolve: bool = True) -> str:
    """The ``.properties`` rendering: ``key: value`` lines joined by ``\\n``, no trailing newline.

    Values are written as Java's ``toString`` would, without escaping. With ``resolve`` the whole
    text goes through placeholder resolution against ``sources``.
    """
    text = "\n".join(f"{key}: {java_string(value)}" for key, value in merge_for_rendering(sources).items())
    return resolve_placeholders(text, lookup_from_sources(sources)) if resolve else text


def render_yaml(
    sources: Sequence[PropertySource], *, resolve: bool = True, strip_document: bool = True
) -> str:
    """The ``.yml`` rendering: block style, 2-space indent, list dashes at the parent's indentation.

    Strings that would read back as another type (``"true"``, ``"1"``, ``""``) are quoted; an
    empty environment renders as ``{}\\n``. With ``strip_document`` (Spring's default) a map whose
    only key is ``document`` renders just that value (a YAML file whose top level was not a map).
    """
    tree = _tree(sources, resolve=resolve)
    if strip_document and len(tree) == 1 and "document" in tree:
        document = tree["document"]
        if not isinstance(document, (dict, list)):
            return _yaml_scalar(document)
        return _dump_yaml(document)
    return _dump_yaml(tree)


def render_json(sources: Sequence[PropertySource], *, resolve: bool = True) -> str:
    """The ``.json`` rendering: the same nested structure as ``.yml``, compact, UTF-8 (not ``\\u``-escaped).

    An empty environment renders as ``{}``. Non-finite floats are written as the strings Jackson
    writes (``"NaN"``, ``"Infinity"``).
    """
    tree = _tree(sources, resolve=resolve)
    text = json.dumps(_finite(tree), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # A lone surrogate (possible from a \\uD800 escape in a .properties file) cannot be UTF-8
    # encoded; keep it as a JSON escape, the only place it can occur being inside a string.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------------------------
# Un-flattening (Spring's PropertyNavigator, without its data loss on conflicting keys)


def _tree(sources: Sequence[PropertySource], *, resolve: bool) -> dict[str, Any]:
    merged = merge_with_origins(sources)
    # One resolver for all values: keys are looked up once and growth is bounded in total.
    resolver = PlaceholderResolver(lookup_from_sources(sources)) if resolve else None
    builder = _TreeBuilder(gap_budget=len(merged) + _LIST_SLACK)
    for key, (value, origin) in merged.items():
        if resolver is not None and isinstance(value, str):
            value = resolver.resolve(value)
        builder.put(key, value, origin)
    return builder.root


class _TreeBuilder:
    """Builds the nested maps and lists, one flat key at a time."""

    def __init__(self, *, gap_budget: int) -> None:
        self.root: dict[str, Any] = {}
        self._gap_budget = gap_budget

    def put(self, key: str, value: Scalar, origin: str) -> None:
        steps = parse_key(key)
        if len(steps) > MAX_NESTING:
            raise InvalidConfiguration(origin, f"key {key[:120]!r} nests deeper than {MAX_NESTING} levels")
        if yaml_key(steps) != format_key(steps):
            # Nested, this key would read back as another one (".a" as "a", "a.[x]" as "a[x]").
            self._keep_whole(key, value)
            return
        node: dict[str, Any] | list[Any] = self.root
        prefix: str | None = (
            None  # a compound key being built at this map level (a value sits on the shorter key)
        )
        for position, step in enumerate(steps):
            last = position == len(steps) - 1
            wanted: type | None = None if last else (list if isinstance(steps[position + 1], int) else dict)
            if isinstance(node, dict):
                name = _join(prefix, step)
                existing = node.get(name)
                if wanted is None:
                    if isinstance(existing, (dict, list)):
                        self._demote(node, name, existing)
                    elif existing is not None:
                        self._keep_whole(key, value)  # another spelling (a[01], a[1]) got here first
                        return
                    node[name] = value
                    return
                if existing is None:
                    node[name] = wanted()
                if isinstance(node[name], wanted):
                    node, prefix = node[name], None
                else:
                    # The shorter key already holds something else: keep the rest of this key
                    # whole at this level (Spring's "org.springframework.cloud" compound key).
                    prefix = name
                continue
            assert isinstance(step, int)  # a list is only ever entered through an index
            self._grow(node, step, key, origin)
            existing = node[step]
            if wanted is None:
                if isinstance(existing, (dict, list)):
                    raise InvalidConfiguration(origin, _conflict(key, step, "a value", existing))
                if existing is not None:
                    self._keep_whole(key, value)  # another spelling (a[01], a[1]) got here first
                    return
                node[step] = value
                return
            if existing is None:
                node[step] = wanted()
            elif not isinstance(existing, wanted):
                raise InvalidConfiguration(origin, _conflict(key, step, _kind(wanted()), existing))
            node = node[step]

    def _grow(self, items: list[Any], index: int, key: str, origin: str) -> None:
        missing = index + 1 - len(items)
        if missing <= 0:
            return
        if missing > self._gap_budget:
            raise InvalidConfiguration(
                origin, f"list index {index} in key {key[:120]!r} would create too many empty elements"
            )
        self._gap_budget -= missing
        items.extend([None] * missing)

    def _keep_whole(self, key: str, value: Scalar) -> None:
        """Put ``key`` unparsed at the top level, where it always reads back as itself."""
        existing = self.root.get(key)
        if isinstance(existing, (dict, list)):
            self._demote(self.root, key, existing)
        self.root[key] = value

    @staticmethod
    def _demote(node: dict[str, Any], name: str, existing: dict[str, Any] | list[Any]) -> None:
        """A value lands where a structure was built: move the structure to compound keys."""
        if isinstance(existing, dict):
            for child, sub in existing.items():
                node[_join(name, child)] = sub
        else:
            for index, sub in enumerate(existing):
                if sub is not None:
                    node[f"{name}[{index}]"] = sub


def _join(prefix: str | None, step: str | int) -> str:
    """The map key for ``step``, continuing a compound key when there is one (as flattening joins)."""
    if isinstance(step, int):
        return f"{prefix or ''}[{step}]"
    if prefix is None:
        return step
    return prefix + step if step.startswith("[") else f"{prefix}.{step}"


def _kind(node: object) -> str:
    return "a map" if isinstance(node, dict) else "a list" if isinstance(node, list) else "a value"


def _conflict(key: str, index: int, needed: str, existing: object) -> str:
    return (
        f"key {key[:120]!r} needs {needed} at list element [{index}], "
        f"which other keys of the same list make {_kind(existing)}"
    )


# ---------------------------------------------------------------------------------------------
# Serialising


class _Dumper(yaml.SafeDumper):
    """SafeDumper with SnakeYAML's habit of writing multi-line string values as literal blocks."""


# PyYAML mangles these YAML 1.1 line breaks in plain, single-quoted and block styles; its
# double-quoted style escapes them (\N, \L, \P), so text containing one is always double-quoted.
_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _represent_key(dumper: yaml.SafeDumper, key: str) -> yaml.ScalarNode:
    style = '"' if _LINE_BREAKS.search(key) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", key, style=style)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if _LINE_BREAKS.search(data):
        style: str | None = '"'
    else:
        # The emitter falls back to a quoted style when a literal block cannot hold the text.
        style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.MappingNode:
    # Keys never take the literal-block style values get (it would force "? |" complex keys).
    pairs = [(_represent_key(dumper, key), dumper.represent_data(value)) for key, value in data.items()]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)


def _dump_yaml(data: dict[str, Any] | list[Any]) -> str:
    # width: never fold long values across lines (re-reading gives the same value either way,
    # but a one-line URL or key stays greppable).
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
    )
    return _without_end_marker(text)


def _yaml_scalar(value: Scalar) -> str:
    return _without_end_marker(yaml.dump(value, Dumper=_Dumper, allow_unicode=True, width=2**31 - 1))


def _without_end_marker(text: str) -> str:
    # PyYAML closes a document ending in a bare scalar or a "|+" block with a "..." line;
    # SnakeYAML does not, and the marker changes nothing (content can never be an unindented,
    # unquoted "..." line).
    if text == "...\n" or text.endswith("\n...\n"):
        return text[: -len("...\n")]
    return text


def _finite(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _finite(sub) for key, sub in node.items()}
    if isinstance(node, list):
        return [_finite(sub) for sub in node]
    if isinstance(node, float) and not math.isfinite(node):
        return java_string(node)
    return node
