"""``{vault}:path#key`` values: a property whose value names a Vault KV secret and one of its keys.

Mirrors Spring's ``VaultEnvironmentEncryptor``: every value whose text starts with ``{vault}``
is removed from its source and put back at the end (Java ``LinkedHashMap`` order: an existing
key keeps its place). ``{vault}:accounts/mypay#access_key`` becomes the value of ``access_key``
in the secret ``accounts/mypay`` of the configured KV mount (v1 or v2: the path is relative to
the mount, as Spring's ``VaultKeyValueOperations`` reads it; ``path-to-key`` does not apply).
The path runs to the first ``#`` and the key to the next one, so ``{vault}:a#b#c`` reads key
``b`` of ``a`` (Java's ``split``).

A reference that cannot be resolved becomes ``invalid.<key>: <n/a>``: a malformed one (no ``:``
after ``{vault}``, no ``#``, an empty path or key), a secret or key that does not exist (Spring
puts ``null`` there, which its documentation calls invalid and our wire model cannot carry), a
path Vault refuses the server (its policy), a value that is ``null``. With ``prefix_invalid``
False the key stays, holding the reference without its ``{vault}`` and ``:`` as far as they were
read (Spring keeps its half-parsed text: ``{vault}:accounts/mypay`` gives ``accounts/mypay``).
Unlike Spring, Vault being unavailable (or no longer accepting the server's login) is not
turned into ``<n/a>``: it propagates as ``Unavailable`` (503), as a transit ``{cipher}`` outage
does, so clients keep their last good configuration instead of losing secrets.

Scope (not in Spring): the server's login may read far more than one application may see, and
whoever can push to the configuration repository chooses the path. So a reference is read only
when its path is in the request's ``ReferenceScope``: the Vault keys the request's own
applications would read (``application``, ``orders``, ``orders,prod`` ... as the Vault source
computes them, ``path-to-key`` included), or a path matching one of ``--vault-reference-paths``
(``*`` within a segment, ``**`` across segments; ``**`` alone is Spring's "anything"). A path out
of scope is never read and becomes ``invalid.<key>``, exactly like a missing secret, so a pusher
learns nothing about which secrets exist. At most ``MAX_REFERENCE_PATHS`` distinct paths are read
per environment (the first by path); references to the others are invalid too.

Values read: strings as they are, booleans ``true``/``false``, numbers as text, objects and
arrays as JSON text. Each secret is read once per call, concurrently, as the server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config_client.wire import PropertySource, PropertyValue

from config_server.crypto.environment import INVALID_VALUE
from config_server.errors import ConfigServerError, Unavailable

__all__ = [
    "MAX_REFERENCE_PATHS",
    "VAULT_PREFIX",
    "ReferenceScope",
    "VaultReference",
    "parse_reference",
    "resolve_references",
]

log = logging.getLogger(__name__)

VAULT_PREFIX = "{vault}"
MAX_REFERENCE_PATHS = 64
"""Distinct secret paths one environment's references may read; the rest (by path) are invalid:
a pushed file of thousands of references must not occupy the Vault workers every request."""

SecretReader = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""Reads the secret at a path (None when it does not exist); raises ``ConfigServerError``."""


@dataclass(frozen=True, slots=True)
class VaultReference:
    """A parsed ``{vault}:path#key``."""

    path: str
    key: str


@dataclass(frozen=True, slots=True)
class ReferenceScope:
    """The Vault paths (relative to the mount) the references of one request may read.

    ``own``: exact paths (the request's own Vault keys); ``patterns``: globs where ``*`` matches
    within one ``/`` segment and ``**`` across segments.
    """

    own: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    def allows(self, path: str) -> bool:
        """Whether a reference may read ``path`` (never one with an empty, ``.`` or ``..`` segment)."""
        if any(segment in ("", ".", "..") for segment in path.split("/")):
            return False
        return path in self.own or any(_glob(p).fullmatch(path) for p in self.patterns)


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(
            ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
            for part in re.split(r"(\*\*|\*)", pattern)
        ),
        re.DOTALL,
    )


def parse_reference(value: str) -> VaultReference | None:
    """The reference ``value`` makes, or None when it is malformed (pure).

    ``value`` must start with ``{vault}``; then ``:``, a non-empty path, ``#``, a non-empty key.
    """
    rest = value[len(VAULT_PREFIX) :]
    if not rest.startswith(":"):
        return None
    parts = rest[1:].split("#")
    while parts and not parts[-1]:
        parts.pop()  # Java's split drops trailing empty strings
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    return VaultReference(parts[0], parts[1])


async def resolve_references(
    sources: Sequence[PropertySource],
    read: SecretReader,
    *,
    scope: ReferenceScope,
    prefix_invalid: bool = True,
    on_failure: Callable[[str, str], None] | None = None,
) -> tuple[PropertySource, ...]:
    """``sources`` with every ``{vault}`` value resolved (see the module docstring).

    ``read`` is called once per distinct path that ``scope`` allows, all concurrently; a
    reference out of scope is invalid without a read. ``on_failure(source name,
    property key)`` is called for each reference that becomes invalid; it never sees a value.
    Raises ``Unavailable`` when a read does; other ``ConfigServerError``s make the references
    to that path invalid.
    """
    wanted = {
        ref.path
        for ps in sources
        for v in ps.source.values()
        if isinstance(v.value, str)
        and v.value.startswith(VAULT_PREFIX)
        and (ref := parse_reference(v.value)) is not None
        and scope.allows(ref.path)
    }
    paths = sorted(wanted)
    if len(paths) > MAX_REFERENCE_PATHS:
        log.warning(
            "%d {vault} reference paths in one environment; only the first %d are read",
            len(paths),
            MAX_REFERENCE_PATHS,
        )
        paths = paths[:MAX_REFERENCE_PATHS]
    results = await asyncio.gather(*(read(path) for path in paths), return_exceptions=True)
    secrets: dict[str, Mapping[str, Any] | ConfigServerError | None] = {}
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, Unavailable) or (
            isinstance(result, BaseException) and not isinstance(result, ConfigServerError)
        ):
            raise result
        secrets[path] = result
    return tuple(_resolve_source(ps, secrets, prefix_invalid, on_failure) for ps in sources)


def _resolve_source(
    source: PropertySource,
    secrets: Mapping[str, Mapping[str, Any] | ConfigServerError | None],
    prefix_invalid: bool,
    on_failure: Callable[[str, str], None] | None,
) -> PropertySource:
    referring = [
        k for k, v in source.source.items() if isinstance(v.value, str) and v.value.startswith(VAULT_PREFIX)
    ]
    if not referring:
        return source
    out: dict[str, PropertyValue] = dict(source.source)
    for key in referring:
        text = str(source.source[key].value)
        out.pop(key, None)
        value = _value(parse_reference(text), secrets)
        if value is not None:
            out[key] = PropertyValue(value)
            continue
        if on_failure is not None:
            on_failure(source.name, key)
        if prefix_invalid:
            out[f"invalid.{key}"] = PropertyValue(INVALID_VALUE)
        else:
            rest = text[len(VAULT_PREFIX) :]
            out[key] = PropertyValue(rest[1:] if rest.startswith(":") else rest)
    return PropertySource(source.name, out)


def _value(
    ref: VaultReference | None, secrets: Mapping[str, Mapping[str, Any] | ConfigServerError | None]
) -> str | None:
    if ref is None:
        return None
    secret = secrets.get(ref.path)
    if secret is None or isinstance(secret, ConfigServerError):
        return None
    value = secret.get(ref.key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
