"""The Spring Cloud Config wire model: ``Environment`` and ``PropertySource``.

Defined once, here, and shared by the client and the server (the server depends on this
distribution for it). Pure data and JSON (de)serialisation; no I/O.

V1 JSON (``application/json``)::

    {"name": "orders", "profiles": ["dev,mysql"], "label": null, "version": "<sha>",
     "state": "", "propertySources": [{"name": "...", "source": {"a.b": 1}}]}

V2 JSON (``application/vnd.spring-cloud.config-server.v2+json``) wraps each value as
``{"value": v, "origin": "line:col"}`` where an origin is known; other values (decrypted ones,
Vault's) stay plain, as in Spring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "V2_MEDIA_TYPE",
    "Environment",
    "PropertySource",
    "PropertyValue",
    "Scalar",
]

V2_MEDIA_TYPE = "application/vnd.spring-cloud.config-server.v2+json"

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """One property value and, when known, where it came from (``"line:column"``, 1-based)."""

    value: Scalar
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class PropertySource:
    """A named, ordered mapping of flattened keys (``a.b[0].c``) to values."""

    name: str
    source: Mapping[str, PropertyValue] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, values: Mapping[str, Scalar]) -> PropertySource:
        """Build a source from plain values (no origins)."""
        return cls(name, {k: PropertyValue(v) for k, v in values.items()})

    def values(self) -> dict[str, Scalar]:
        """The plain values, in order."""
        return {k: v.value for k, v in self.source.items()}

    def to_json(self, *, origins: bool) -> dict[str, Any]:
        """The source as Spring serialises it (V2 when ``origins``)."""
        if origins:
            # Spring wraps only values whose origin is known; decrypted values and backends
            # without origin tracking (Vault) stay plain values in the V2 shape.
            src: dict[str, Any] = {
                k: {"value": _json_scalar(v.value), "origin": v.origin}
                if v.origin is not None
                else _json_scalar(v.value)
                for k, v in self.source.items()
            }
        else:
            src = {k: _json_scalar(v.value) for k, v in self.source.items()}
        return {"name": self.name, "source": src}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PropertySource:
        """Parse either the V1 or the V2 shape (a ``{value, origin}`` map is unwrapped)."""
        if not isinstance(data, Mapping):
            raise ValueError("each property source must be a JSON object")
        name = data.get("name")
        raw = data.get("source")
        if not isinstance(name, str) or not isinstance(raw, Mapping):
            raise ValueError("property source needs a string 'name' and an object 'source'")
        out: dict[str, PropertyValue] = {}
        for k, v in raw.items():
            if isinstance(v, Mapping) and "value" in v and set(v) <= {"value", "origin"}:
                origin = v.get("origin")
                out[str(k)] = PropertyValue(_scalar(v["value"]), origin if isinstance(origin, str) else None)
            else:
                out[str(k)] = PropertyValue(_scalar(v))
        return cls(name, out)


@dataclass(frozen=True, slots=True)
class Environment:
    """The answer to ``GET /{application}/{profiles}[/{label}]``; sources highest precedence first."""

    name: str
    profiles: tuple[str, ...]
    label: str | None
    version: str | None
    state: str | None
    property_sources: tuple[PropertySource, ...]

    def to_json(self, *, origins: bool = False) -> dict[str, Any]:
        """The JSON object in Spring's field order (V2 when ``origins``)."""
        return {
            "name": self.name,
            "profiles": list(self.profiles),
            "label": self.label,
            "version": self.version,
            "state": self.state,
            "propertySources": [ps.to_json(origins=origins) for ps in self.property_sources],
        }

    @classmethod
    def from_json(cls, data: Any) -> Environment:
        """Parse a V1 or V2 Environment; raises ``ValueError`` on a malformed document."""
        if not isinstance(data, Mapping):
            raise ValueError("environment must be a JSON object")
        name = data.get("name")
        profiles = data.get("profiles") or []
        sources = data.get("propertySources") or []
        if not isinstance(name, str) or not isinstance(profiles, list) or not isinstance(sources, list):
            raise ValueError("environment needs 'name', 'profiles' (list) and 'propertySources' (list)")
        label, version, state = data.get("label"), data.get("version"), data.get("state")
        return cls(
            name=name,
            profiles=tuple(str(p) for p in profiles),
            label=label if isinstance(label, str) else None,
            version=version if isinstance(version, str) else None,
            state=state if isinstance(state, str) else None,
            property_sources=tuple(PropertySource.from_json(ps) for ps in sources),
        )


def _json_scalar(v: Scalar) -> Scalar:
    # JSON has no NaN/Infinity; Jackson would write them as strings too.
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def _scalar(v: Any) -> Scalar:
    if isinstance(v, (str, int, float, bool)):
        return v
    if v is None:
        return ""
    return str(v)
