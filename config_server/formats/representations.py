"""Serialised forms of one resolved environment, computed once each and memoised, with ETags.

An environment at a set of commits never changes, so the bytes of every representation (V1 JSON,
V2 JSON, .yml, .properties, .json renderings) are computed on first use and kept with it; a repeated
GET does no YAML, git or JSON work.

ETags are strong and depend only on configuration content: the hash covers the representation
kind and the body with ``version`` and ``state`` left out. So a commit that leaves a service's
resolved configuration unchanged keeps its ETag (no spurious reloads), and replicas of the server
at the same content agree on it. Serialisation is canonical (no timestamps, fixed key order).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field, replace
from typing import Literal

from config_client.wire import Environment

__all__ = ["Kind", "Rendered", "Representations"]

Kind = Literal["v1", "v2", "yml", "properties", "json", "yml-raw", "properties-raw", "json-raw"]

CONTENT_TYPES: dict[str, str] = {
    "v1": "application/json",
    "v2": "application/vnd.spring-cloud.config-server.v2+json",
    "yml": "text/plain; charset=utf-8",
    "properties": "text/plain; charset=utf-8",
    "json": "application/json",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One representation: its body, strong ETag (quoted) and content type."""

    body: bytes
    etag: str
    content_type: str


@dataclass(slots=True)
class Representations:
    """An environment plus its lazily computed representations (thread-safe memo)."""

    environment: Environment
    stale: bool = False  # some part was served from a bounded stale cache (Vault outage)
    warnings: tuple[str, ...] = ()  # RFC 7234 warning values, e.g. a last good commit served
    strip_document: bool = True  # Spring's strip-document-from-yaml, for the .yml rendering
    _memo: dict[str, Rendered] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, kind: Kind) -> Rendered:
        """The representation ``kind``; computed at most once."""
        found = self._memo.get(kind)
        if found is not None:
            return found
        rendered = self._render(kind)
        with self._lock:
            return self._memo.setdefault(kind, rendered)

    def _render(self, kind: Kind) -> Rendered:
        env = self.environment
        if kind in ("v1", "v2"):
            origins = kind == "v2"
            body = _dumps(env.to_json(origins=origins))
            content = _dumps(replace(env, version=None, state=None).to_json(origins=origins))
            return Rendered(body, etag_of(kind, content), CONTENT_TYPES[kind])
        from config_server.formats import render  # the renderers are only needed for these kinds

        resolve = not kind.endswith("-raw")
        base = kind.removesuffix("-raw")
        sources = env.property_sources
        if base == "yml":
            text = render.render_yaml(sources, resolve=resolve, strip_document=self.strip_document)
        elif base == "properties":
            text = render.render_properties(sources, resolve=resolve)
        else:
            text = render.render_json(sources, resolve=resolve)
        body = text.encode("utf-8", errors="replace")  # lone surrogates from \uD800 escapes
        return Rendered(body, etag_of(kind, body), CONTENT_TYPES[base])


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="replace")


def etag_of(kind: str, content: bytes) -> str:
    """A strong ETag for ``content`` served as ``kind`` (the same bytes as another kind differ)."""
    digest = hashlib.sha256(kind.encode() + b"\0" + content).hexdigest()[:40]
    return f'"{digest}"'
