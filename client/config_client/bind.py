"""Typed binding: fill a (nested) dataclass from flat keys, the way Spring binds
``@ConfigurationProperties``. Pure, no I/O.

Field names match keys with Spring's relaxed rules (``db_url`` ~ ``db-url`` ~ ``dbUrl`` ~ ``DBURL``).
Supported field types: ``str``, ``int``, ``float``, ``bool`` (``true/false``, ``yes/no``, ``on/off``,
``1/0``, any case), ``Enum`` (by member name, relaxed, or by value), ``pathlib.Path``,
``datetime.timedelta`` (a number of seconds, or ``500ms``/``30s``/``5m``/``2h``/``1d``), ``Any``,
``Literal[...]``, nested dataclasses, ``list[T]``/``tuple[T, ...]``/``Sequence[T]`` (from ``a[0]``,
``a[1]``… or a comma-separated string), ``dict[str, T]`` (from ``a.x``, ``a.y``…),
``Optional[T]`` (missing or empty gives ``None``) and unions of scalars (tried in order).
Every problem found is reported at once in one :class:`~config_client.errors.BindError`, each
with its dotted key; values are never quoted in messages because they may be secrets.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from config_client.errors import BindError
from config_client.keys import Token, canonical, parse_key
from config_client.wire import Scalar

__all__ = ["bind"]

T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_DURATION = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MISSING: Any = object()


class _Invalid(Exception):
    """A value that cannot become the wanted type; carries the problem, never the value."""


def bind(target: type[T], values: Mapping[str, Scalar], *, prefix: str = "") -> T:
    """Build a ``target`` dataclass instance from ``values`` (flat keys), under ``prefix`` if given.

    Raises :class:`~config_client.errors.BindError` listing every missing or unconvertible key,
    and ``TypeError`` if ``target`` is not a dataclass or uses an unsupported field type.
    """
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise TypeError(f"bind() needs a dataclass type, not {target!r}")
    index = _Index(values)
    path = _canon_path(parse_key(prefix)) if prefix else ()
    errors: list[tuple[str, str]] = []
    # force: an absent prefix is an empty section, so defaults apply and each required field is
    # reported by its own dotted key rather than the prefix as a whole.
    result = _Binder(index, errors).dataclass(target, path, prefix, force=True)
    if errors or result is _MISSING:
        raise BindError(target.__qualname__, errors or [(prefix or "<root>", "missing")])
    instance: T = result
    return instance


def _canon_path(tokens: Sequence[Token]) -> tuple[Token, ...]:
    return tuple(canonical(t) if isinstance(t, str) else t for t in tokens)


class _Index:
    """Flat keys indexed by their relaxed (canonical) token paths."""

    def __init__(self, values: Mapping[str, Scalar]) -> None:
        self.entries: dict[tuple[Token, ...], tuple[str, Scalar]] = {}
        self.children: dict[tuple[Token, ...], dict[Token, Token]] = {}
        for key, value in values.items():
            tokens = parse_key(key)
            path = _canon_path(tokens)
            self.entries.setdefault(path, (key, value))
            for i in range(len(path)):
                # canonical child -> its first spelling, which dict[str, T] keeps as the key
                self.children.setdefault(path[:i], {}).setdefault(path[i], tokens[i])

    def has_any(self, path: tuple[Token, ...]) -> bool:
        return path in self.entries or path in self.children


class _Binder:
    def __init__(self, index: _Index, errors: list[tuple[str, str]]) -> None:
        self.index = index
        self.errors = errors

    def convert(self, tp: Any, path: tuple[Token, ...], shown: str) -> Any:
        """The value at ``path`` as ``tp``, or ``_MISSING`` if absent; problems go to ``errors``."""
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self.union(tp, path, shown)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(tp, path, shown)
        if origin in (list, tuple, Sequence, typing.Sequence) or tp in (list, tuple):
            return self.sequence(tp, path, shown)
        if origin in (dict, Mapping, typing.Mapping) or tp is dict:
            return self.mapping(tp, path, shown)
        entry = self.index.entries.get(path)
        if entry is None:
            if path in self.index.children and tp is not Any:
                self.errors.append((shown, f"expected a single {_type_name(tp)} value, found a section"))
            return _MISSING
        key, raw = entry
        try:
            return _scalar(tp, raw)
        except _Invalid as exc:
            self.errors.append((key, str(exc)))
            return _MISSING

    def dataclass(self, cls: type, path: tuple[Token, ...], shown: str, *, force: bool = False) -> Any:
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:  # NameError and friends from unresolvable annotations
            raise TypeError(f"cannot resolve the field types of {cls.__qualname__}: {exc}") from exc
        if path and not force and not self.index.has_any(path):
            return _MISSING  # nothing configured here: the caller picks the default, None or this again
        if path in self.index.entries and path not in self.index.children:
            self.errors.append((self.index.entries[path][0], "expected a section, found a single value"))
            return _MISSING
        kwargs: dict[str, Any] = {}
        before = len(self.errors)
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            tp = hints[f.name]
            fpath = (*path, canonical(f.name))
            fshown = f"{shown}.{_kebab(f.name)}" if shown else _kebab(f.name)
            errors_before = len(self.errors)
            value = self.convert(tp, fpath, fshown)
            if value is _MISSING and len(self.errors) == errors_before:
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                    continue
                if _is_optional(tp):
                    value = None
                elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
                    value = self.dataclass(tp, fpath, fshown, force=True)
                else:
                    self.errors.append((fshown, f"missing (required, type {_type_name(tp)})"))
            if value is not _MISSING:
                kwargs[f.name] = value
        if len(self.errors) > before:
            return _MISSING
        return cls(**kwargs)

    def union(self, tp: Any, path: tuple[Token, ...], shown: str) -> Any:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            entry = self.index.entries.get(path)
            if optional and entry is not None and entry[1] == "" and path not in self.index.children:
                return None  # YAML null arrives as "" on the wire
            return self.convert(args[0], path, shown)
        if any(not _is_scalar_type(a) for a in args):
            raise TypeError(f"unsupported type {tp} for {shown}: only unions of scalar types can be bound")
        entry = self.index.entries.get(path)
        if entry is None:
            return _MISSING
        if optional and entry[1] == "":
            return None
        for arg in args:
            try:
                return _scalar(arg, entry[1])
            except _Invalid:
                continue
        self.errors.append((entry[0], f"expected {_type_name(tp)}, got a {_type_name(type(entry[1]))}"))
        return _MISSING

    def sequence(self, tp: Any, path: tuple[Token, ...], shown: str) -> Any:
        args = typing.get_args(tp)
        is_tuple = tp is tuple or typing.get_origin(tp) is tuple
        if is_tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"unsupported type {tp} for {shown}: use tuple[T, ...] or list[T]")
        item_tp = args[0] if args else Any
        children = self.index.children.get(path, {})
        indexes = sorted(t for t in children if isinstance(t, int))
        items: list[Any] = []
        if indexes:
            before = len(self.errors)
            for i in range(indexes[-1] + 1):
                errors_before = len(self.errors)
                value = self.convert(item_tp, (*path, i), f"{shown}[{i}]")
                if value is _MISSING and len(self.errors) == errors_before:
                    self.errors.append((f"{shown}[{i}]", "missing list element (the list has a gap)"))
                items.append(value)
            if len(self.errors) > before:
                return _MISSING
        elif path in self.index.entries:
            key, raw = self.index.entries[path]
            # Spring binds "a,b,c" (and a single scalar) to a list, too.
            parts: list[Scalar] = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else [raw]
            if parts == [""]:
                parts = []
            for n, part in enumerate(parts):
                try:
                    items.append(_scalar(item_tp, part))
                except _Invalid as exc:
                    self.errors.append((f"{key}[{n}]", str(exc)))
                    return _MISSING
        else:
            return _MISSING
        return tuple(items) if is_tuple else items

    def mapping(self, tp: Any, path: tuple[Token, ...], shown: str) -> Any:
        args = typing.get_args(tp)
        if args and args[0] is not str:
            raise TypeError(f"unsupported type {tp} for {shown}: map keys must be str")
        value_tp = args[1] if len(args) == 2 else Any
        children = self.index.children.get(path)
        if children is None:
            if path in self.index.entries:
                self.errors.append((self.index.entries[path][0], "expected a section, found a single value"))
            return _MISSING
        out: dict[str, Any] = {}
        for canon, spelled in children.items():
            if isinstance(canon, int):
                self.errors.append((f"{shown}[{canon}]", "expected named entries, found a list element"))
                continue
            value = self.convert(value_tp, (*path, canon), f"{shown}.{spelled}" if shown else str(spelled))
            if value is not _MISSING:
                out[str(spelled)] = value
        return out


def _scalar(tp: Any, raw: Scalar) -> Any:
    """Convert one scalar or raise ``_Invalid`` naming the problem (never the value)."""
    if tp is Any or tp is object:
        return raw
    if typing.get_origin(tp) is typing.Literal:
        for choice in typing.get_args(tp):
            if raw == choice or (isinstance(raw, str) and str(choice) == raw):
                return choice
        raise _Invalid(f"expected one of {list(typing.get_args(tp))!r}")
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _Invalid("expected a boolean (true/false, yes/no, on/off, 1/0)")
    if tp is int:
        if isinstance(raw, bool):
            raise _Invalid("expected an integer, got a boolean")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        try:
            return int(str(raw).strip(), 10)
        except ValueError:
            raise _Invalid(f"expected an integer, got a {_type_name(type(raw))} that is not one") from None
    if tp is float:
        if isinstance(raw, bool):
            raise _Invalid("expected a number, got a boolean")
        try:
            return float(raw)
        except ValueError:
            raise _Invalid(f"expected a number, got a {_type_name(type(raw))} that is not one") from None
    if tp is str:
        if isinstance(raw, bool):
            return "true" if raw else "false"  # as Java (and the YAML the user wrote) spells them
        return str(raw)
    if tp is Path:
        if raw == "" or isinstance(raw, bool):
            raise _Invalid("expected a path")
        return Path(str(raw))
    if tp is timedelta:
        return _duration(raw)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp, raw)
    raise TypeError(f"unsupported field type {tp!r}")


def _duration(raw: Scalar) -> timedelta:
    if isinstance(raw, bool):
        raise _Invalid("expected a duration, got a boolean")
    if isinstance(raw, (int, float)):
        seconds = float(raw)
    else:
        match = _DURATION.match(raw)
        if match is None:
            raise _Invalid("expected a duration: seconds, or a number with ns/us/ms/s/m/h/d")
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise _Invalid("duration out of range") from None


def _enum(tp: type[enum.Enum], raw: Scalar) -> enum.Enum:
    if isinstance(raw, str):
        wanted = canonical(raw.strip())
        for member in tp:
            if canonical(member.name) == wanted:
                return member
    for member in tp:
        if member.value == raw or (isinstance(raw, str) and str(member.value) == raw):
            return member
    raise _Invalid(f"expected one of {[m.name for m in tp]}")


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _is_scalar_type(tp: Any) -> bool:
    return tp in (str, int, float, bool, Path, timedelta, Any) or (
        isinstance(tp, type) and issubclass(tp, enum.Enum)
    )


def _kebab(name: str) -> str:
    return name.replace("_", "-")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
