"""``VaultConfigSource``: Vault's KV secrets behind the ``Source`` seam (adapting ``vault.kv``).

Never pinned: secrets change with no event and each caller's token may see different ones, so
they are read on every request, with the caller's ``X-Config-Token``. Vault cannot say when a
secret changes, so the source is polled: each poll reads, as the server, the KV metadata (current
versions) of the keys of the watched queries, and answers the queries whose versions moved since
the previous poll, or could not be read (no server login, Vault down, a policy without metadata
access: those are recomputed, which reads the secrets themselves).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Hashable

from config_server.errors import ConfigServerError
from config_server.sources.base import ChangeListener, Contribution, Query, SourceHealth
from config_server.vault.client import VaultClientManager
from config_server.vault.kv import VaultSource

__all__ = ["VaultConfigSource"]

# (applications, profiles, labels): labels only count with enable_label, else ().
_Ident = tuple[tuple[str, ...], tuple[str, ...], tuple[str | None, ...]]


class VaultConfigSource:
    """The ``vault:<key>`` property sources; ``poll_interval`` seconds between change polls (0: none)."""

    name = "vault"

    def __init__(self, *, kv: VaultSource, manager: VaultClientManager, poll_interval: float = 0.0) -> None:
        self.kv = kv
        self._manager = manager
        self.poll_interval = poll_interval
        self._seen: dict[_Ident, dict[str, int]] = {}

    async def pin(self, query: Query) -> Hashable | None:
        return None  # read on every request

    async def read(self, query: Query, pin: Hashable | None, *, token: str | None) -> Contribution:
        """The secrets as the caller (``token``) or, without one, as the server; see ``vault.kv``."""
        result = await self.kv.read(query.applications, query.profiles, token=token, labels=query.labels)
        return Contribution(result.sources, stale=result.stale)

    async def resource(self, query: Query, path: str) -> tuple[bytes, str] | None:
        return None  # Vault serves no plain-text resources

    async def health(self) -> SourceHealth:
        return await self._manager.health()

    def add_listener(self, listener: ChangeListener) -> None:
        """Vault never tells: its changes are found by ``poll``."""

    async def poll(self, queries: Collection[Query]) -> set[Query]:
        """The watched queries whose secrets' versions moved (or could not be read) since last poll."""
        can_read = self._manager.settings.auth_method != "none"  # metadata is read as the server
        now: dict[_Ident, dict[str, int]] = {}
        moved: set[Query] = set()
        for query in queries:
            ident = (query.applications, query.profiles, query.labels if self.kv.label_enabled else ())
            if ident not in now and can_read:
                with contextlib.suppress(ConfigServerError):
                    now[ident] = await self.kv.versions(*ident)
            if ident not in now or self._seen.get(ident) != now[ident]:
                moved.add(query)
        self._seen = now
        return moved
