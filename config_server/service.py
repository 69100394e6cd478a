"""Assembling environments: git files + Vault secrets + overrides, decrypted, cached.

This is the orchestration between the async sources and the pure core. It holds no HTTP and no
precedence rules of its own (those live in ``resolve``); it decides what to read, caches what never
changes, and makes sure concurrent identical requests do the work once (single flight).

Caches (all bounded LRUs):
- parsed documents by (blob id, path): a blob never changes;
- the git part of an environment by (commit ids, applications, profiles): a commit never changes;
- whole representations (bytes + ETag) for environments that need no Vault read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from config_client.wire import Environment, PropertySource, PropertyValue

from config_server import resolve
from config_server.errors import ConfigServerError, InvalidConfiguration, ResourceNotFound
from config_server.formats import parse_document_file
from config_server.formats.documents import Document
from config_server.formats.representations import Representations
from config_server.names import EnvRequest
from config_server.sources.git.source import GitSource, Tree

__all__ = ["LRU", "EnvironmentService", "SecretsPart"]

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small bounded least-recently-used map (event-loop use; not thread-safe)."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


class SingleFlight(Generic[K, V]):
    """Concurrent calls with the same key share one running computation.

    The computation runs as its own task and callers await it shielded, so a caller that goes
    away (a client disconnecting cancels its handler) never cancels the work the others wait for.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    async def do(self, key: K, fn: Callable[[], Awaitable[V]]) -> V:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._running[key] = task
            task.add_done_callback(lambda t: self._finished(key, t))
        return await asyncio.shield(task)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter re-raises it itself


@dataclass(frozen=True, slots=True)
class SecretsPart:
    """What a secrets backend (Vault) contributed to one request."""

    sources: tuple[PropertySource, ...]
    stale: bool = False


SecretsReader = Callable[[Sequence[str], Sequence[str], "str | None"], Awaitable[SecretsPart]]
# ``{key: version}`` of the secrets an environment reads, as the server: cheap change detection.
VersionsReader = Callable[[Sequence[str], Sequence[str]], Awaitable[dict[str, int]]]
Decryptor = Callable[[Sequence[PropertySource]], Awaitable[tuple[PropertySource, ...]]]


@dataclass(frozen=True, slots=True)
class _GitPart:
    sources: tuple[PropertySource, ...]
    version: str


class EnvironmentService:
    """Resolves environments and plain-text resources for the HTTP layer.

    ``secrets`` (Vault) and ``decrypt`` ({cipher}) are optional collaborators supplied by the app.
    """

    def __init__(
        self,
        *,
        git: GitSource,
        search_paths: Sequence[str] = (),
        overrides: PropertySource | None = None,
        secrets: SecretsReader | None = None,
        secrets_first: bool = True,
        decrypt: Decryptor | None = None,
        cache_size: int = 2048,
    ) -> None:
        self.git = git
        self.search_paths = tuple(search_paths)
        self._label_paths = any("{label}" in path for path in self.search_paths)
        self.overrides = overrides
        self.secrets = secrets
        self.secret_versions: VersionsReader | None = None
        self.secrets_first = secrets_first
        self.decrypt = decrypt
        self._docs: LRU[tuple[str, str], list[Document] | InvalidConfiguration] = LRU(cache_size * 8)
        self._git_parts: LRU[tuple[Any, ...], _GitPart] = LRU(cache_size)
        self._reps: LRU[tuple[Any, ...], Representations] = LRU(cache_size)
        self._env_flight: SingleFlight[tuple[Any, ...], Representations] = SingleFlight()
        self._git_flight: SingleFlight[tuple[Any, ...], _GitPart] = SingleFlight()

    # --- environments -------------------------------------------------------------------------

    async def environment(self, req: EnvRequest, *, token: str | None = None) -> Representations:
        """The environment for a validated request, with its representations.

        Raises ``LabelNotFound`` (404), ``InvalidConfiguration`` (500), ``Unavailable`` (503) or
        ``Forbidden`` (403, a Vault token refused).
        """
        commits = tuple([await self.git.resolve(label) for label in req.labels])
        key = (commits, req.name, req.profiles_raw, req.label)
        if self.secrets is None:
            cached = self._reps.get(key)
            if cached is not None:
                return cached
            return await self._env_flight.do(key, lambda: self._build(req, commits, key, None))
        return await self._build(req, commits, key, token)

    async def _build(
        self, req: EnvRequest, commits: tuple[str, ...], key: tuple[Any, ...], token: str | None
    ) -> Representations:
        git_part = await self._git_part(req, commits)
        sources: list[PropertySource] = list(git_part.sources)
        stale = False
        if self.secrets is not None:
            part = await self.secrets(req.applications, req.profiles, token)
            stale = part.stale
            secret_sources = await self._decrypt(part.sources)
            sources = [*secret_sources, *sources] if self.secrets_first else [*sources, *secret_sources]
        if self.overrides is not None and self.overrides.source:
            sources.insert(0, self.overrides)
        env = Environment(
            name=req.name,
            profiles=(req.profiles_raw,),
            label=req.label,
            version=git_part.version,
            state="",
            property_sources=tuple(sources),
        )
        reps = Representations(env, stale=stale)
        if self.secrets is None:
            self._reps.put(key, reps)
        return reps

    async def _git_part(self, req: EnvRequest, commits: tuple[str, ...]) -> _GitPart:
        # Two labels at one commit share their sources, unless a search path names {label}.
        labels = tuple(self.git.label_name(lab) for lab in req.labels) if self._label_paths else None
        key = (commits, req.applications, req.profiles, labels)
        found = self._git_parts.get(key)
        if found is not None:
            return found

        async def build() -> _GitPart:
            sources: list[PropertySource] = []
            # Comma labels: each label's sources appended, last label first (reference §6.5).
            for label, commit in reversed(list(zip(req.labels, commits, strict=True))):
                sources.extend(await self._git_sources(req, label, commit))
            part = _GitPart(tuple(await self._decrypt(sources)), ",".join(commits))
            self._git_parts.put(key, part)
            return part

        return await self._git_flight.do(key, build)

    async def _git_sources(self, req: EnvRequest, label: str | None, commit: str) -> list[PropertySource]:
        tree = await self.git.tree(commit)
        names = resolve.config_names(req.applications)
        locations = self._locations(req, label, tree)
        ordered = [c for c in resolve.candidates(names, req.profiles, locations) if c.path in tree.files]
        documents = {c.path: await self.documents(tree, c.path) for c in ordered}
        base = [doc for c in ordered if c.profile is None for doc in reversed(documents[c.path])]
        profiles = resolve.expand_profiles(req.profiles, base)
        if profiles != list(req.profiles):  # spring.profiles.include / group widened them
            ordered = [c for c in resolve.candidates(names, profiles, locations) if c.path in tree.files]
            for c in ordered:
                if c.path not in documents:
                    documents[c.path] = await self.documents(tree, c.path)
        return resolve.assemble(ordered, documents, profiles=profiles, uri=self.git.display_uri)

    def _locations(self, req: EnvRequest, label: str | None, tree: Tree) -> list[str]:
        return resolve.search_locations(
            self.search_paths,
            applications=req.applications,
            profiles=req.profiles,
            label=self.git.label_name(label),
            dirs=tree.dirs,
        )

    async def documents(self, tree: Tree, path: str) -> list[Document]:
        """The parsed documents of ``path`` in ``tree`` (cached by blob id, errors too)."""
        blob = tree.files[path]
        key = (blob, path)
        found = self._docs.get(key)
        if found is None:
            data = await self.git.read_blob(blob)
            try:
                found = await asyncio.to_thread(parse_document_file, path, data)
            except InvalidConfiguration as exc:
                found = exc
            self._docs.put(key, found)
        if isinstance(found, InvalidConfiguration):
            raise found
        return found

    async def _decrypt(self, sources: Sequence[PropertySource]) -> tuple[PropertySource, ...]:
        if self.decrypt is None or not _has_cipher(sources):
            return tuple(sources)
        return await self.decrypt(sources)

    # --- plain-text resources -----------------------------------------------------------------

    async def resource(self, req: EnvRequest, path: str) -> tuple[bytes, str]:
        """The raw bytes of a plain-text resource and the path it was found at.

        Raises ``ResourceNotFound`` (404) or ``LabelNotFound`` (404).
        """
        label = req.labels[0] if len(req.labels) == 1 else req.label
        commit = await self.git.resolve(label)
        tree = await self.git.tree(commit)
        locations = self._locations(req, label, tree)
        for candidate in resolve.resource_candidates(path, req.profiles, locations):
            blob = tree.files.get(candidate)
            if blob is not None:
                return await self.git.read_blob(blob), candidate
        raise ResourceNotFound(f"No such resource: {path}")

    def cache_stats(self) -> dict[str, int]:
        return {
            "documents": len(self._docs),
            "environments": len(self._git_parts),
            "responses": len(self._reps),
        }


def _has_cipher(sources: Sequence[PropertySource]) -> bool:
    return any(
        isinstance(v.value, str) and v.value.startswith("{cipher}")
        for ps in sources
        for v in ps.source.values()
    )


def overrides_source(values: dict[str, Any]) -> PropertySource:
    """The ``overrides`` source: ``\\{`` and ``\\${`` un-escaped so operators can send placeholders."""
    out: dict[str, PropertyValue] = {}
    for k, v in values.items():
        if isinstance(v, str):
            v = v.replace("\\${", "${").replace("\\{", "{")
        out[str(k)] = PropertyValue(v, "Config server overrides")
    return PropertySource("overrides", out)


def safe_message(exc: BaseException) -> str:
    """A message for a client: ours as written, anything else generic (never a repr)."""
    if isinstance(exc, ConfigServerError):
        return exc.message
    return "Internal error"
