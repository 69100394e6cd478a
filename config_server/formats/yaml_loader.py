"""YAML files as Spring Boot reads them: typed, origin-tracked, flattened documents.

Boot's ``OriginTrackedYamlLoader`` runs SnakeYAML 2 with YAML 1.1 implicit types but no
timestamps, rejects duplicate keys, supports anchors, aliases and ``<<`` merge keys, and records
where each scalar value starts. We parse with PyYAML's event stream (libyaml when available) and
compose the nodes ourselves rather than through PyYAML's recursive composer, so that we can track
origins, detect duplicate keys, bound nesting depth and bound the size that aliases expand to.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

import yaml
from config_client.wire import PropertyValue
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from config_server.errors import InvalidConfiguration
from config_server.formats.flatten import Located, flatten, key_segment

__all__ = ["MAX_DEPTH", "MAX_EXPANDED_NODES", "SpringYamlLoader", "load_yaml"]

# SnakeYAML's own default is 50; real configuration rarely passes 10.
MAX_DEPTH = 100
# Nodes a document may expand to once aliases are followed: generous for real files, fatal for
# "billion laughs" (nine levels of ten aliases each).
MAX_EXPANDED_NODES = 200_000

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_MERGE, _MAP, _SEQ = (_TAG + t for t in ("merge", "map", "seq"))

# SnakeYAML 2's Resolver patterns (YAML 1.1), in its order: bool, int, float, merge, null.
_RESOLVERS: tuple[tuple[str, str, str], ...] = (
    (_BOOL, r"(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)", "yYnNtTfFoO"),
    (
        _INT,
        r"(?:[-+]?0b_*[0-1][0-1_]*|[-+]?0_*[0-7][0-7_]*|[-+]?(?:0|[1-9][0-9_]*)"
        r"|[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)",
        "-+0123456789",
    ),
    (
        _FLOAT,
        r"(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))",
        "-+0123456789.",
    ),
    (_MERGE, r"<<", "<"),
    (_NULL, r"(?:~|null|Null|NULL)", "~nN"),
    (_NULL, r"", ""),  # an empty plain scalar (PyYAML looks empty values up under "")
)
_BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _implicit_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first_chars in _RESOLVERS:
        compiled = re.compile(pattern + r"\Z")
        for first in first_chars or [""]:
            table.setdefault(first, []).append((tag, compiled))
    return table


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpringYamlLoader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's safe loader with Spring Boot's scalar typing: SnakeYAML 2 rules minus timestamps.

    ``yaml.load(text, Loader=SpringYamlLoader)`` gives plain Python data typed as Boot would
    (dates stay strings); :func:`load_yaml` uses its event stream and resolver. The global
    ``SafeLoader`` is left untouched.
    """

    yaml_implicit_resolvers = _implicit_resolvers()


def load_yaml(path: str, text: str) -> list[dict[str, PropertyValue]]:
    """Parse YAML text into one flattened property map per document, in file order.

    Null and empty-string documents are left out; a document that flattens to nothing (``{}``)
    is returned as an empty map. Origins are the ``"line:column"`` (1-based) where each value
    starts. Raises :class:`InvalidConfiguration` (with line and column) for syntax errors, duplicate
    keys, unsupported tags or keys, nesting deeper than :data:`MAX_DEPTH` and documents expanding
    past :data:`MAX_EXPANDED_NODES` nodes.
    """
    loader = SpringYamlLoader(text)
    try:
        return _Composer(path, loader).documents()
    except yaml.MarkedYAMLError as exc:
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        mark = exc.problem_mark or exc.context_mark
        raise InvalidConfiguration(
            path,
            problem,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidConfiguration(path, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


class _MergeKey:
    """Marks a ``<<`` key (a plain scalar resolved to the merge tag)."""


_MERGE_KEY = _MergeKey()
_NO_KEY = object()


class _Frame:
    __slots__ = ("anchor", "container", "key", "origin", "own_keys", "size")

    def __init__(self, container: dict[str, Any] | list[Any], event: CollectionStartEvent) -> None:
        self.container = container
        self.anchor: str | None = event.anchor
        self.origin = _origin(event)
        self.size = 1
        self.key: Any = _NO_KEY
        self.own_keys: set[tuple[type, Any]] = set()


class _Composer:
    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0

    def documents(self) -> list[dict[str, PropertyValue]]:
        out: list[dict[str, PropertyValue]] = []
        while not self.loader.check_event(StreamEndEvent):
            if isinstance(self.loader.get_event(), DocumentStartEvent):
                self.anchors, self.expanded = {}, 0
                root = self._document()
                if not (isinstance(root, Located) and root.value in (None, "")):
                    out.append(flatten(root))
        return out

    def _document(self) -> Any:
        """Compose one document from its events, up to and including DocumentEndEvent."""
        stack: list[_Frame] = []
        value: Any
        while True:
            event = self.loader.get_event()
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                self._start(stack, event)
                continue
            if isinstance(event, ScalarEvent):
                value, size, growth, anchor = self._scalar(event), 1, 1, event.anchor
            elif isinstance(event, AliasEvent):
                if event.anchor not in self.anchors:
                    self._fail(f"alias *{event.anchor} names no anchor before it (nor its own parent)", event)
                value, size = self.anchors[event.anchor]
                growth, anchor = size, None
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)) and stack:
                frame = stack.pop()
                value, size, growth, anchor = frame.container, frame.size, 1, frame.anchor
                if not value:
                    # Boot tracks empty collections as values with an origin.
                    value = Located(value, frame.origin)
            else:  # pragma: no cover - a well-formed event stream has nothing else inside a document
                self._fail(f"unexpected {type(event).__name__}", event)
            if anchor is not None:
                self.anchors[anchor] = (value, size)
            self.expanded += growth
            if self.expanded > MAX_EXPANDED_NODES:
                limit = MAX_EXPANDED_NODES
                self._fail(f"the document expands to more than {limit} nodes through aliases", event)
            if not stack:
                self.loader.get_event()  # DocumentEndEvent
                return _as_value(value)
            self._add(stack[-1], value, size, event)

    def _start(self, stack: list[_Frame], event: CollectionStartEvent) -> None:
        is_map = isinstance(event, MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            self._fail(f"unsupported tag {_short_tag(event.tag)}", event)
        if stack and isinstance(stack[-1].container, dict) and stack[-1].key is _NO_KEY:
            self._fail("a mapping or sequence cannot be used as a key", event)
        if len(stack) >= MAX_DEPTH:
            self._fail(f"nesting is deeper than {MAX_DEPTH} levels", event)
        stack.append(_Frame({} if is_map else [], event))

    def _add(self, frame: _Frame, value: Any, size: int, event: Event) -> None:
        container = frame.container
        if isinstance(container, list):
            frame.size += size
            container.append(_as_value(value))
        elif frame.key is _NO_KEY:
            self._take_key(frame, value, event)
        else:
            frame.size += size
            key, frame.key = frame.key, _NO_KEY
            if key is _MERGE_KEY:
                self._merge(frame, value, event)
            else:
                # A written key replaces a merged one in place (SnakeYAML's flattenMapping).
                container[key] = _as_value(value)

    def _take_key(self, frame: _Frame, value: Any, event: Event) -> None:
        if not isinstance(value, Located) or isinstance(value.value, (dict, list)):
            self._fail("a mapping or sequence cannot be used as a key", event)
        key = value.value
        if key is _MERGE_KEY:
            frame.key = key
            return
        if key is None:
            self._fail("a key cannot be null or empty", event)
        identity = (type(key), key)
        if identity in frame.own_keys:
            self._fail(f"duplicate key {_key_text(event, key)!r}", event)
        frame.own_keys.add(identity)
        frame.key = key_segment(key)

    def _merge(self, frame: _Frame, value: Any, event: Event) -> None:
        sources = value.value if isinstance(value, Located) else value
        if isinstance(sources, dict):
            sources = [sources]
        container = frame.container
        assert isinstance(container, dict)
        for source in sources if isinstance(sources, list) else [None]:
            source = source.value if isinstance(source, Located) else source
            if not isinstance(source, dict):
                self._fail("the merge key << needs a mapping or a list of mappings", event)
            # Earlier sources win, and keys already present (written or merged) are kept.
            for key, item in source.items():
                if key not in container:
                    container[key] = item

    def _scalar(self, event: ScalarEvent) -> Located:
        tag = event.tag
        if tag is None:
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        elif tag == "!":
            tag = _STR
        try:
            value = _construct(tag, event.value)
        except ValueError as exc:
            self._fail(str(exc), event)
        return Located(value, _origin(event))

    def _fail(self, problem: str, event: Event) -> NoReturn:
        line, column = _position(event)
        raise InvalidConfiguration(self.path, problem, line=line, column=column)


def _construct(tag: str, text: str) -> Any:
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _MERGE:
        return _MERGE_KEY
    try:
        if tag == _BOOL:
            return _BOOLEANS[text.lower()]
        if tag == _INT:
            return _int(text)
        if tag == _FLOAT:
            return _float(text)
    except (KeyError, ValueError):
        raise ValueError(f"cannot read {text[:40]!r} as {_short_tag(tag)}") from None
    raise ValueError(f"unsupported tag {_short_tag(tag)}")


def _int(text: str) -> int:
    digits, sign = text.replace("_", ""), 1
    if digits[:1] in ("+", "-"):
        digits, sign = digits[1:], (-1 if digits[0] == "-" else 1)
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if ":" in digits:
        value = 0
        for part in digits.split(":"):
            value = value * 60 + int(part)
        return sign * value
    if digits.startswith("0") and digits != "0":
        return sign * int(digits, 8)
    return sign * int(digits, 10)


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits.startswith("-") else 1.0
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    if digits == ".inf":
        return sign * math.inf
    if digits == ".nan":
        return math.nan
    if ":" in digits:
        value = 0.0
        for part in digits.split(":"):
            value = value * 60 + float(part)
        return sign * value
    return sign * float(digits)


def _as_value(value: Any) -> Any:
    # A "<<" used as a value rather than a key is just the string.
    if isinstance(value, Located) and value.value is _MERGE_KEY:
        return Located("<<", value.origin)
    return value


def _key_text(event: Event, key: Any) -> str:
    return event.value if isinstance(event, ScalarEvent) else str(key)


def _position(event: Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _origin(event: Event) -> str:
    line, column = _position(event)
    return f"{line}:{column}"


def _short_tag(tag: str | None) -> str:
    return "!!" + tag[len(_TAG) :] if tag and tag.startswith(_TAG) else str(tag)
