"""An application's JSON Schema (draft 2020-12 by default) and its violations as ``Problem``\\ s.

Pure. The instance is the merged configuration a client builds (``config_client.merge``, then
``unflatten``), so a violation is reported where the value that broke it was set: the file and
line of the property source that won the merge. A required key that is missing everywhere has no
such place: it is reported at the schema file (at its ``required`` keyword). Messages never show a
value that came from a ``{cipher}``.

Values are typed as the files type them: YAML and JSON give numbers and booleans, ``.properties``
gives strings (``port=8080`` is the string ``"8080"``), exactly as the server serves them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema
import referencing.exceptions
from config_client.keys import child_key, format_key
from config_client.merge import merge_with_origins, unflatten
from config_client.wire import PropertySource

from config_server.errors import InvalidConfiguration
from config_server.formats import parse_document_file
from config_server.formats.documents import origin_line
from config_server.validation.problems import Problem

if TYPE_CHECKING:
    from config_server.checks import CheckContext

__all__ = ["SCHEMA_PATH", "Schema", "load_schema", "schema_check", "schema_problems"]

_MAX_MESSAGE = 240


@dataclass(frozen=True, slots=True)
class Schema:
    """A checked schema: its path, a ready validator, and the line of each of its (flat) keys."""

    path: str
    validator: Any
    lines: Mapping[str, int]

    def line_of(self, tokens: Sequence[str | int]) -> int | None:
        """The line of a keyword in the schema file (the first line under it), if known."""
        key = format_key(list(tokens))
        if key in self.lines:
            return self.lines[key]
        for flat, line in self.lines.items():
            if not key or flat.startswith((key + ".", key + "[")):
                return line
        return None


def _lines(path: str, data: bytes) -> dict[str, int]:
    try:
        documents = parse_document_file(path, data)
    except InvalidConfiguration:
        return {}
    out: dict[str, int] = {}
    for doc in documents:
        for key, value in doc.properties.items():
            line = origin_line(value.origin)
            if line is not None:
                out[key] = line
    return out


def load_schema(path: str, data: bytes) -> Schema | Problem:
    """Parse and check a schema file; a file that is not a valid schema is a ``Problem``."""
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return Problem(path, None, "a JSON Schema must be UTF-8 text")
    except json.JSONDecodeError as exc:
        return Problem(path, exc.lineno, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return Problem(path, None, "invalid JSON: nested too deeply")
    lines = _lines(path, data)
    cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(document)
    except jsonschema.SchemaError as exc:
        schema = Schema(path, None, lines)
        return Problem(
            path, schema.line_of(list(exc.absolute_path)), f"not a valid JSON Schema: {_short(exc.message)}"
        )
    return Schema(path, cls(document), lines)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _thaw(node: Any) -> Any:
    # jsonschema's "object" and "array" are dict and list, not the merge's read-only views.
    if isinstance(node, Mapping):
        return {k: _thaw(v) for k, v in node.items()}
    if isinstance(node, tuple):
        return [_thaw(v) for v in node]
    return node


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except (re.error, TypeError):
        return False


def schema_problems(
    schema: Schema,
    sources: Sequence[PropertySource],
    *,
    paths: Mapping[str, str],
    secret_keys: Collection[str] = (),
) -> list[Problem]:
    """The violations of ``schema`` by the merge of ``sources`` (highest precedence first).

    ``paths`` maps each source's name to its file's path. ``secret_keys`` are flat keys whose
    value was decrypted: a message about them (or about a map or list holding them) never quotes
    the value.
    """
    merged = merge_with_origins(sources)
    by_name = {source.name: source for source in sources}
    tree = _thaw(unflatten({key: value for key, (value, _) in merged.items()}))

    def locate(key: str) -> tuple[str, int | None] | None:
        found = key if key in merged else None
        if found is None:
            found = next((k for k in merged if not key or k.startswith((key + ".", key + "["))), None)
        if found is None:
            return None
        name = merged[found][1]
        return paths[name], origin_line(by_name[name].source[found].origin)

    def secret(key: str) -> bool:
        return any(not key or s == key or s.startswith((key + ".", key + "[")) for s in secret_keys)

    out: list[Problem] = []
    try:
        errors = list(schema.validator.iter_errors(tree))
    except referencing.exceptions.Unresolvable as exc:
        return [Problem(schema.path, None, f"cannot resolve a $ref: {_short(str(exc))}")]
    for error in errors:
        key = format_key(list(error.absolute_path))
        where = f"{key}: " if key else ""
        if error.validator == "required":
            line = schema.line_of(list(error.absolute_schema_path))
            out.append(Problem(schema.path, line, f"{where}{_short(error.message)}"))
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
            for extra in error.instance:
                if extra in allowed or any(_search(p, extra) for p in patterns):
                    continue
                child = child_key(key, extra)
                spot = locate(child) or (schema.path, None)
                out.append(Problem(*spot, f"{child}: not allowed by {schema.path} (additionalProperties)"))
            continue
        message = (
            f"the value (from a {{cipher}}, not shown) fails the schema's '{error.validator}' rule"
            if secret(key)
            else _short(error.message)
        )
        place = locate(key)
        if place is None:
            out.append(
                Problem(schema.path, schema.line_of(list(error.absolute_schema_path)), where + message)
            )
        else:
            out.append(Problem(*place, f"{where}{message} ({schema.path})"))
    return out


SCHEMA_PATH = "schemas/{application}.schema.json"
"""Where an application's schema lives in the repository (as ``config-server validate`` reads it)."""


def schema_check(context: CheckContext) -> list[Problem]:
    """The server's ``--serve-last-good`` check: each application's schema, if the commit has one.

    The same rule as ``config-server validate``: the merged configuration the application is
    served must satisfy ``schemas/{application}.schema.json``; a schema that is itself broken is a
    problem too (it would fail the push's validation as well). Blocking (reads the commit's files).
    """
    problems: list[Problem] = []
    for application in context.applications:
        path = SCHEMA_PATH.format(application=application)
        data = context.read_file(path)
        if data is None:
            continue
        schema = load_schema(path, data)
        if isinstance(schema, Problem):
            problems.append(schema)
            continue
        problems.extend(
            schema_problems(schema, context.sources, paths=context.paths, secret_keys=context.secret_keys)
        )
    return problems
