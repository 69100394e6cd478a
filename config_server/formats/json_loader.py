"""JSON configuration files: strict JSON, typed and flattened like YAML.

A ``.json`` file is one document. ``json`` decides what is valid (so trailing commas, comments,
single quotes and ``NaN`` are errors with a line and column); the YAML composer, which reads any
JSON text, then supplies the origins and names duplicate keys with their line.
"""

from __future__ import annotations

import json
from typing import Any

from config_client.wire import PropertyValue

from config_server.errors import InvalidConfiguration
from config_server.formats.flatten import flatten
from config_server.formats.yaml_loader import load_yaml

__all__ = ["load_json"]


def load_json(path: str, text: str) -> list[dict[str, PropertyValue]]:
    """Parse JSON text into a single flattened property map (a one-element list).

    Raises :class:`InvalidConfiguration` for invalid JSON (with line and column), duplicate keys
    and nesting too deep to parse.
    """
    try:
        data = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON: {exc.msg}"
        raise InvalidConfiguration(path, problem, line=exc.lineno, column=exc.colno) from exc
    except _NotJson as exc:
        raise InvalidConfiguration(path, f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidConfiguration(path, "invalid JSON: nested too deeply") from exc
    try:
        documents = load_yaml(path, text)
    except InvalidConfiguration as exc:
        if exc.problem.startswith("duplicate key") or "nesting is deeper" in exc.problem:
            raise
        # Valid JSON that libyaml still refuses (rare corner cases): keep the values, lose origins.
        return [flatten(_plain(data, path))]
    return documents or [{}]


class _NotJson(ValueError):
    pass


class _Pairs(list[tuple[str, Any]]):
    """Object members in order, so duplicates can still be seen after ``json.loads``."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _plain(data: Any, path: str) -> Any:
    if isinstance(data, _Pairs):
        out: dict[str, Any] = {}
        for key, value in data:
            if key in out:
                raise InvalidConfiguration(path, f"duplicate key {key!r}")
            out[key] = _plain(value, path)
        return out
    if isinstance(data, list):
        return [_plain(item, path) for item in data]
    return data
