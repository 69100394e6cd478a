"""Assembling environments: an ordered list of Sources, plus overrides, decrypted, cached.

This is the orchestration between the async sources and the pure core. It holds no HTTP, no
backend and no precedence rules of its own (the order of ``sources`` is the precedence, and the
file rules live in ``resolve``); it decides what to read, caches what never changes, and makes
sure concurrent identical requests do the work once (single flight).

Caches (bounded LRUs, ``config_server.caching``):
- a pinned source's decrypted contribution by (its pin, applications, profiles): git's pin is
  its commit ids, and a commit never changes;
- whole representations (bytes + ETag), only when every source is pinned (no Vault read) and
  no value is a ``{vault}:`` reference.

``{vault}:path#key`` references (``references``, Spring's ``VaultEnvironmentEncryptor``) are
resolved after the caches, on every request, over the assembled sources (overrides included):
a git contribution is cached per commit, but the secret it refers to changes without a commit,
exactly like the Vault source, which is never pinned. The cached parts keep the references as
text; ``{cipher}`` values are decrypted first (in the cached part).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

from config_client.wire import Environment, PropertySource, PropertyValue

from config_server import tracing
from config_server.caching import LRU, SingleFlight
from config_server.crypto.environment import CIPHER
from config_server.errors import ConfigServerError, EnvironmentNotFound, ResourceNotFound
from config_server.formats.representations import Representations
from config_server.metrics.timings import Timings
from config_server.names import EnvRequest
from config_server.sources.base import Contribution, Query, Source

__all__ = ["Decryptor", "EnvironmentService", "ReferenceResolver", "overrides_source"]

Decryptor = Callable[[Sequence[PropertySource]], Awaitable[tuple[PropertySource, ...]]]
ReferenceResolver = Callable[[Sequence[PropertySource], Query], Awaitable[tuple[PropertySource, ...]]]
"""Resolves ``{vault}:`` values for one request (the query decides which secrets it may read)."""


class EnvironmentService:
    """Resolves environments and plain-text resources for the HTTP layer.

    ``sources`` in precedence order (the first one's property sources come first); ``overrides``
    goes before them all, after decryption; ``decrypt`` turns ``{cipher}`` values (None: left
    as they are); ``references`` resolves ``{vault}:`` values per request, given the request's
    query (None: left as they are). ``cache_size`` bounds each cache's entries.
    ``accept_empty=False`` makes an environment without any property source (overrides count)
    a ``EnvironmentNotFound``, as
    Spring's ``accept-empty=false``. ``reverse_location_order`` looks for plain-text resources in
    the last source first (each git source reverses its own locations too).
    ``strip_document_from_yaml=False`` keeps the ``document`` key of a non-map YAML in the ``.yml``
    rendering (Spring's ``strip-document-from-yaml``). Use from one event loop.
    """

    def __init__(
        self,
        *,
        sources: Sequence[Source],
        overrides: PropertySource | None = None,
        decrypt: Decryptor | None = None,
        references: ReferenceResolver | None = None,
        cache_size: int = 2048,
        accept_empty: bool = True,
        reverse_location_order: bool = False,
        strip_document_from_yaml: bool = True,
    ) -> None:
        if not sources:
            raise ValueError("an EnvironmentService needs at least one source")
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique: {names}")
        self.sources: tuple[Source, ...] = tuple(sources)
        self._overrides = overrides if overrides is not None and overrides.source else None
        self._decrypt = decrypt
        self._references = references
        self.accept_empty = accept_empty
        self.reverse_location_order = reverse_location_order
        self.strip_document_from_yaml = strip_document_from_yaml
        self._parts: LRU[tuple[Any, ...], Contribution] = LRU(cache_size)
        self._reps: LRU[tuple[Any, ...], Representations] = LRU(cache_size)
        self._env_flight: SingleFlight[tuple[Any, ...], Representations] = SingleFlight()
        self._part_flight: SingleFlight[tuple[Any, ...], Contribution] = SingleFlight()
        self.resolutions = Timings()
        """Every ``environment`` call (cached answers too): wall time, failures (metrics)."""

    def caches(self) -> dict[str, LRU[Any, Any]]:
        """The service's caches by name (``environments``: whole answers; ``contributions``: one
        source's part), for their hit and miss counts."""
        return {"environments": self._reps, "contributions": self._parts}

    # --- environments -------------------------------------------------------------------------

    async def environment(
        self, req: EnvRequest, *, token: str | None = None, allow_empty: bool = False
    ) -> Representations:
        """The environment for a validated request, with its representations.

        ``token`` is the caller's ``X-Config-Token``, given to the sources read per request.
        ``allow_empty`` skips the ``accept_empty`` check (Spring applies it to the environment
        endpoints only, not to a plain-text resource's placeholders). Raises ``LabelNotFound``
        (404), ``EnvironmentNotFound`` (404), ``InvalidConfiguration`` (500), ``Unavailable`` (503)
        or ``Forbidden`` (403, a Vault token refused).
        """
        with (
            self.resolutions.timed(ConfigServerError),
            tracing.span("resolve", attributes={"config.application": req.name}),
        ):
            reps = await self._environment(req, token)
        if not (allow_empty or self.accept_empty or reps.environment.property_sources):
            raise EnvironmentNotFound()
        return reps

    async def _environment(self, req: EnvRequest, token: str | None) -> Representations:
        query = Query.of(req)
        pins = tuple([await source.pin(query) for source in self.sources])
        if all(pin is not None for pin in pins):
            key = (pins, req.name, req.profiles_raw, req.label)
            cached = self._reps.get(key)
            if cached is not None:
                return cached
            return await self._env_flight.do(key, lambda: self._build(req, query, pins, key, None))
        return await self._build(req, query, pins, None, token)

    async def _build(
        self,
        req: EnvRequest,
        query: Query,
        pins: tuple[Hashable | None, ...],
        key: tuple[Any, ...] | None,
        token: str | None,
    ) -> Representations:
        parts: list[Contribution | None] = [None] * len(self.sources)
        # Cached (pinned) parts first: they are cheap, and a broken file fails before Vault is asked.
        for i in sorted(range(len(self.sources)), key=lambda i: pins[i] is None):
            parts[i] = await self._part(i, query, pins[i], token)
        done = [part for part in parts if part is not None]
        sources = [ps for part in done for ps in part.sources]
        if self._overrides is not None:
            sources.insert(0, self._overrides)
        if self._references is not None and _has_prefix(sources, VAULT_REFERENCE):
            # Secrets change without a commit: resolved per request, never cached whole.
            sources = list(await self._references(sources, query))
            key = None
        versions = [part.version for part in done if part.version is not None]
        env = Environment(
            name=req.name,
            profiles=(req.profiles_raw,),
            label=req.label,
            version=versions[0] if len(versions) == 1 else None,
            state="",
            property_sources=tuple(sources),
        )
        reps = Representations(
            env,
            stale=any(part.stale for part in done),
            warnings=tuple(warning for part in done for warning in part.warnings),
            strip_document=self.strip_document_from_yaml,
        )
        if key is not None:
            self._reps.put(key, reps)
        return reps

    async def _part(self, index: int, query: Query, pin: Hashable | None, token: str | None) -> Contribution:
        source = self.sources[index]
        if pin is None:
            return await self._decrypted(await source.read(query, None, token=token))
        key = (index, pin, query.applications, query.profiles)
        found = self._parts.get(key)
        if found is not None:
            return found

        async def build() -> Contribution:
            # Shared by every caller, so read without the caller's token (see sources.base).
            part = await self._decrypted(await source.read(query, pin, token=None))
            self._parts.put(key, part)
            return part

        return await self._part_flight.do(key, build)

    async def _decrypted(self, part: Contribution) -> Contribution:
        if self._decrypt is None or not _has_prefix(part.sources, CIPHER):
            return part
        with tracing.span("decrypt", attributes={"config.property_sources": len(part.sources)}):
            return replace(part, sources=await self._decrypt(part.sources))

    # --- plain-text resources -----------------------------------------------------------------

    async def resource(self, req: EnvRequest, path: str) -> tuple[bytes, str]:
        """The raw bytes of a plain-text resource and the path it was found at (first source wins).

        Raises ``ResourceNotFound`` (404) or ``LabelNotFound`` (404).
        """
        label = req.labels[0] if len(req.labels) == 1 else req.label
        query = Query(req.applications, req.profiles, (label,))
        for source in reversed(self.sources) if self.reverse_location_order else self.sources:
            found = await source.resource(query, path)
            if found is not None:
                return found
        raise ResourceNotFound(f"No such resource: {path}")


VAULT_REFERENCE = "{vault}"  # config_server.vault.references.VAULT_PREFIX, without importing hvac


def _has_prefix(sources: Sequence[PropertySource], prefix: str) -> bool:
    return any(
        isinstance(v.value, str) and v.value.startswith(prefix) for ps in sources for v in ps.source.values()
    )


def overrides_source(values: dict[str, Any]) -> PropertySource:
    """The ``overrides`` source: ``\\{`` and ``\\${`` un-escaped so operators can send placeholders."""
    out: dict[str, PropertyValue] = {}
    for k, v in values.items():
        if isinstance(v, str):
            v = v.replace("\\${", "${").replace("\\{", "{")
        out[str(k)] = PropertyValue(v, "Config server overrides")
    return PropertySource("overrides", out)
