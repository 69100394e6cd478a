"""The local override file (``local_file=``): a YAML or ``.properties`` file for development.

Parsed into flat keys exactly like the server flattens its files (Spring Boot's rules: YAML 1.1
types without timestamps, duplicate keys are an error, ``null`` becomes ``""``, lists become
``a[0]``, a non-string key ``1:`` becomes ``[1]``). One document per file: profile activation
inside the file is not applied, so a second document is refused rather than silently merged.
Files are read as UTF-8 (not ISO-8859-1 as Java does); ``\\uXXXX`` escapes work in both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from config_client.errors import LocalFileError
from config_client.keys import child_key
from config_client.wire import Scalar

__all__ = ["parse_properties", "parse_yaml", "read_local_file", "watch_local_file"]

log = logging.getLogger(__name__)


def read_local_file(path: Path) -> dict[str, Scalar]:
    """Read and flatten ``path`` (``.yml``, ``.yaml`` or ``.properties``); raises ``LocalFileError``."""
    suffix = path.suffix.lower()
    if suffix not in (".yml", ".yaml", ".properties"):
        raise LocalFileError(str(path), "unsupported file type (use .yml, .yaml or .properties)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LocalFileError(str(path), "no such file") from exc
    except UnicodeDecodeError as exc:
        raise LocalFileError(str(path), "not valid UTF-8") from exc
    except OSError as exc:
        raise LocalFileError(str(path), f"cannot read it ({exc.strerror or type(exc).__name__})") from exc
    if suffix == ".properties":
        return parse_properties(text, name=str(path))
    return parse_yaml(text, name=str(path))


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver (dates stay strings) and with duplicate-key errors."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            continue  # unhashable keys are rejected by the base constructor with a clear message
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, *, name: str = "<yaml>") -> dict[str, Scalar]:
    """Flatten one YAML document into Spring's flat keys; raises ``LocalFileError`` with the line."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LocalFileError(name, str(exc.problem or exc), line=mark.line + 1 if mark else None) from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise LocalFileError(name, f"cannot parse YAML ({type(exc).__name__})") from exc
    if len(documents) > 1:
        raise LocalFileError(name, "more than one YAML document; keep a local override file to one")
    if not documents:
        return {}
    doc = documents[0]
    out: dict[str, Scalar] = {}
    try:
        _flatten(doc if isinstance(doc, dict) else {"document": doc}, "", out)
    except RecursionError as exc:
        raise LocalFileError(name, "nested too deeply (or an alias refers to itself)") from exc
    except OverflowError as exc:
        raise LocalFileError(name, str(exc)) from exc
    return out


# Aliases share nodes, so a small file can describe an exponential number of keys.
_MAX_KEYS = 100_000


def _flatten(value: Any, prefix: str, out: dict[str, Scalar]) -> None:
    if len(out) > _MAX_KEYS:
        raise OverflowError(f"more than {_MAX_KEYS} keys after expanding aliases")
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, child_key(prefix, k if isinstance(k, str) else f"[{_text(k)}]"), out)
    elif isinstance(value, list):
        if not value:
            out[prefix] = ""
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = _scalar(value)


def _scalar(value: Any) -> Scalar:
    if value is None:
        return ""
    if isinstance(value, (str, int, float, bool)):
        return value
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_ONE_DOCUMENT = "more than one document; keep a local override file to one"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def parse_properties(text: str, *, name: str = "<properties>") -> dict[str, Scalar]:
    """Parse Java ``.properties`` text (``=``/``:``/space separators, ``\\`` continuations, escapes)."""
    out: dict[str, Scalar] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].lstrip(" \t\f")
        i += 1
        if not line or line[0] in "#!":
            if line.rstrip() in ("#---", "!---"):
                raise LocalFileError(
                    name, "more than one document; keep a local override file to one", line=i
                )
            continue
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip(" \t\f")
            i += 1
        if _continues(line):
            line = line[:-1]
        key, value = _split(line)
        try:
            out[_unescape(key)] = _unescape(value)
        except ValueError as exc:
            raise LocalFileError(name, str(exc), line=start + 1) from exc
    return out


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split(line: str) -> tuple[str, str]:
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "=: \t\f":
            break
        i += 1
    key, rest = line[:i], line[i:]
    rest = rest.lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 == len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("malformed \\uXXXX escape")
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


async def watch_local_file(
    path: Path,
    on_change: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    debounce_ms: int = 200,
    force_polling: bool | None = None,
) -> None:
    """Call ``on_change`` whenever ``path`` is written, replaced or removed, until ``stop`` is set.

    Watches the parent directory because editors save by writing a new file and renaming it
    over the old one, which a watch on the file itself would lose.
    """
    import watchfiles  # imported here: only services that use local_file pay for it

    target = path.resolve()

    def _ours(_change: watchfiles.Change, changed: str) -> bool:
        return Path(changed).resolve() == target

    async for _ in watchfiles.awatch(
        target.parent,
        watch_filter=_ours,
        stop_event=stop,
        debounce=debounce_ms,
        recursive=False,
        force_polling=force_polling,
        poll_delay_ms=100,
    ):
        try:
            await on_change()
        except Exception:
            log.exception("config_client: handling a change of %s failed", path)
