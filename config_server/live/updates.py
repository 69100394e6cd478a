"""Live configuration: long-poll watchers woken when a fetch or a Vault change alters what they see.

A watcher is a held ``GET`` with ``If-None-Match`` and ``Prefer: wait=N``. Watchers are grouped by
a *watch key* (request, representation, caller token fingerprint); the ``WatchHub`` wakes all of a
key's watchers in one pass, so 10,000 watchers of one service cost one recomputation. A key's
bookkeeping is dropped when its last watcher leaves.

Each of the service's sources signals changes: a source that learns of them (git, after a fetch that
moved refs) calls ``changed``, and every watched key is recomputed, or, when the source scopes its
signals (``ScopedChanges``: git with pattern repositories), only the keys whose query the signal's
``Affects`` says the change may move; a source that cannot (Vault) is polled every
``poll_interval`` seconds with the watched queries, and only the keys it names are recomputed.
Either way the content ETags are published: a commit that leaves a service's configuration
unchanged leaves its ETag unchanged and wakes nobody. A recomputation that fails
(say a push with broken YAML) publishes nothing, so watchers keep waiting on their last good
configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from config_server import logs, tracing
from config_server.errors import ConfigServerError
from config_server.formats.representations import Kind, Representations
from config_server.live.hub import WatchHub
from config_server.names import EnvRequest
from config_server.secret import fingerprint
from config_server.service import EnvironmentService
from config_server.sources.base import Affects, Query, ScopedChanges, Source

__all__ = ["LiveUpdates"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Watch:
    request: EnvRequest
    kind: Kind
    token: str | None


class LiveUpdates:
    """Holds long polls and wakes them when configuration content changes."""

    def __init__(self, service: EnvironmentService, *, max_wait: float = 120.0) -> None:
        self.service = service
        self.hub = WatchHub(max_wait=max_wait)
        self.max_wait = max_wait
        self._watches: dict[tuple[object, ...], _Watch] = {}
        self._interest: dict[tuple[object, ...], int] = {}  # requests inside wait(), per key
        # The representations last computed per watched key: woken watchers answer from them, so
        # a change costs one computation per key (and one Vault read) however many watch it.
        self._latest: dict[tuple[object, ...], Representations] = {}
        self._recompute_lock = asyncio.Lock()
        self._pending: list[Affects | None] = []  # signals folded into the next run (None: all)
        self._pollers: list[asyncio.Task[None]] = []

    @staticmethod
    def _key(req: EnvRequest, kind: Kind, token: str | None) -> tuple[object, ...]:
        fp = fingerprint(token) if token else None
        return (req.name, req.profiles_raw, req.label, kind, fp)

    async def wait(
        self, req: EnvRequest, kind: Kind, token: str | None, etag: str, timeout: float
    ) -> Representations | None:
        """Hold until the content ETag differs from ``etag`` (the new representations) or time out (None)."""
        key = self._key(req, kind, token)
        watch = self._watches[key] = _Watch(req, kind, token)
        self._interest[key] = self._interest.get(key, 0) + 1
        latest: Representations | None = None
        try:
            if self.hub.current(key) is None:
                self.hub.publish(key, etag)
                # ``etag`` may come from a computation that began before the latest fetch, and
                # that fetch found no watcher of this key to recompute: look once more.
                await self._refresh(key, watch)
            new = await self.hub.wait(key, etag, timeout)
            if new is not None:
                latest = self._latest.get(key)
        finally:
            left = self._interest[key] - 1
            if left:
                self._interest[key] = left
            else:  # the last watcher of this key left
                del self._interest[key], self._watches[key]
                self._latest.pop(key, None)
                self.hub.forget(key)
        if new is None:
            return None
        if latest is not None and latest.get(kind).etag == new:
            return latest
        try:
            return await self.service.environment(req, token=token)
        except ConfigServerError:
            return None

    async def _refresh(self, key: tuple[object, ...], watch: _Watch) -> None:
        """Compute ``watch``'s environment now and publish its ETag (waking its watchers if it
        changed); a failure (broken push, Vault down) publishes nothing and is logged. A key
        nobody watches any more (its watchers left meanwhile) is skipped."""
        if key not in self._watches:
            return
        try:
            reps = await self.service.environment(watch.request, token=watch.token)
        except ConfigServerError as exc:
            log.warning(
                "not waking watchers of %s/%s: %s",
                watch.request.name,
                watch.request.profiles_raw,
                exc.message,
            )
            return
        if key in self._watches:  # nobody left while it computed (else nothing to keep)
            self._latest[key] = reps
            self.hub.publish(key, reps.get(watch.kind).etag)

    async def changed(self, affects: Affects | None = None) -> None:
        """Recompute the watched keys ``affects`` says the change may move (every key without
        it) and publish their ETags (a source's change listener, scoped or not).

        Calls that arrive while a recomputation runs are folded into one more run after it.
        """
        self._pending.append(affects)
        if self._recompute_lock.locked():
            return
        async with self._recompute_lock:
            while self._pending:
                scopes, self._pending = self._pending, []
                await self._recompute(scopes)

    async def _recompute(self, scopes: list[Affects | None]) -> None:
        """One notification batch, in its span and logged as one line (how many were recomputed)."""
        start = time.perf_counter()
        recomputed = 0
        with tracing.span("notification batch") as span:
            everything = None in scopes
            for key, watch in list(self._watches.items()):
                if everything or await _affected(watch.request, scopes):
                    await self._refresh(key, watch)
                    recomputed += 1
            span.set("config.environments_recomputed", recomputed)
            log.info(
                "notification batch: %d watched environments recomputed",
                recomputed,
                extra=logs.fields(
                    {
                        "event.name": "notification.batch",
                        "config.environments_recomputed": recomputed,
                        "config.changes": len(scopes),
                        "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    }
                ),
            )

    async def start(self) -> None:
        """Listen to every source of the service, and poll those that must be polled."""
        for source in self.service.sources:
            if isinstance(source, ScopedChanges):
                source.add_scoped_listener(self.changed)
            else:
                source.add_listener(self.changed)
            if source.poll_interval > 0:
                self._pollers.append(asyncio.create_task(self._poll_loop(source), name=f"{source.name}-poll"))

    async def _poll_loop(self, source: Source) -> None:
        while True:
            await asyncio.sleep(source.poll_interval)
            try:
                await self.poll(source)
            except Exception:  # never let the poller die
                log.exception("%s poll failed", source.name)

    async def poll(self, source: Source) -> None:
        """One poll of ``source``: recompute the watched environments it says may have moved."""
        watches = list(self._watches.items())
        moved = await source.poll({Query.of(watch.request) for _, watch in watches})
        for key, watch in watches:
            if Query.of(watch.request) in moved:
                await self._refresh(key, watch)

    def served(self) -> list[tuple[EnvRequest, str | None]]:
        """Each watched environment and the version (commit) its watchers were last given
        (None before the first computation, or for a source without versions); one entry per
        watch key, so the same request may appear once per representation or token."""
        out: list[tuple[EnvRequest, str | None]] = []
        for key, watch in self._watches.items():
            latest = self._latest.get(key)
            out.append((watch.request, None if latest is None else latest.environment.version))
        return out

    def release_watchers(self) -> None:
        """Answer every held long poll now (with what its client already has) and hold no more.

        Called when the server begins to shut down, so held polls do not keep it waiting for
        their full ``wait``; clients re-poll another replica at once.
        """
        self.hub.close()

    async def close(self) -> None:
        """Stop the polls of sources and release every watcher."""
        for poller in self._pollers:
            poller.cancel()
        for poller in self._pollers:
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        self._pollers.clear()
        self.hub.close()


async def _affected(request: EnvRequest, scopes: list[Affects | None]) -> bool:
    query = Query.of(request)
    for affects in scopes:
        if affects is None:
            return True
        try:
            if await affects(query):
                return True
        except ConfigServerError:
            return True  # cannot tell: recompute rather than miss a change
    return False
